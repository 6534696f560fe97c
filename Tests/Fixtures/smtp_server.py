"""Loopback SMTP server (aiosmtpd). Usage: smtp_server.py OUTDIR CERT KEY USER PASSWORD [MODE]
MODE: starttls (default: STARTTLS and AUTH required), implicit (TLS from the first byte, as smtps://, AUTH
required), plain (no TLS offered, no AUTH). Prints its port, then serves until killed. Each accepted message
is saved as OUTDIR/NNNN.eml, with the envelope in OUTDIR/NNNN.env ("FROM\\nRCPT,RCPT").
"""
import os, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

out, cert, key, user, password = sys.argv[1:6]
mode = sys.argv[6] if len(sys.argv) > 6 else "starttls"
os.makedirs(out, exist_ok=True)
count = [0]

class Handler:
    async def handle_DATA(self, server, session, envelope):
        count[0] += 1
        base = os.path.join(out, f"{count[0]:04d}")
        with open(base + ".env", "w") as f:
            f.write(envelope.mail_from + "\n" + ",".join(envelope.rcpt_tos))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
if mode == "implicit":
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=ctx,
                            authenticator=authenticator, auth_required=True, auth_require_tls=False)
elif mode == "plain":
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
else:
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
