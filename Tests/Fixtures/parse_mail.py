"""Parses one received message with Python's email package and prints what a mail client would see, as JSON:
{"headers": [[name, decoded value], ...], "defects": [...], "parts": [{"type", "charset", "encoding", "text"}]}.
Usage: parse_mail.py FILE.eml
"""
import email, email.policy, json, sys

with open(sys.argv[1], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)
parts = []
for part in message.walk():
    if part.is_multipart():
        continue
    content = part.get_content()
    if isinstance(content, bytes):
        # Images: what a client needs to show them inline, and their first bytes to check the format.
        parts.append({"type": part.get_content_type(), "encoding": part.get("Content-Transfer-Encoding", ""),
                      "content_id": part.get("Content-ID", ""), "disposition": part.get("Content-Disposition", ""),
                      "bytes": len(content), "head": content[:8].hex()})
        continue
    parts.append({"type": part.get_content_type(), "charset": part.get_content_charset(),
                  "encoding": part.get("Content-Transfer-Encoding", ""), "text": content})
print(json.dumps({
    "content_type": message.get_content_type(),
    "headers": [[k, str(v)] for k, v in message.items()],
    "defects": [type(d).__name__ for d in message.defects],
    "parts": parts,
}))
