"""Prints the SHA-256 of a file (hashlib), an independent check of a drop's identity."""
import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())
