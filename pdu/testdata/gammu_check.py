"""Decode and encode SMS PDUs with gammu, for pdu's cross-check test.

Reads {"decode": [[pdu hex, ...], ...], "encode": [{"text", "unicode", "to"}, ...]}
on stdin and writes {"decoded": [{"text", "number", "class"}], "encoded": [[pdu hex, ...]]}.
Runs under Debian's /usr/bin/python3 with python3-gammu.
"""
import json
import sys

import gammu


def decode(pdus):
    parts = [gammu.DecodePDU(bytes.fromhex(p), SMSC=True) for p in pdus]
    first = parts[0]
    if len(parts) == 1 and first["UDH"]["Type"] == "NoUDH":
        text = first["Text"]
        # python-gammu returns its buffer past the end of a 7-bit text that
        # holds extension characters; the real text ends at a NUL ('@' comes
        # back as '@', so a NUL is never part of it).
        if isinstance(text, str):
            text = text.split("\x00", 1)[0]
    else:
        linked = gammu.LinkSMS([[p] for p in parts])
        if len(linked) != 1:
            raise SystemExit("gammu linked %d messages from %d parts" % (len(linked), len(parts)))
        info = gammu.DecodeSMS(linked[0])
        text = "".join(e["Buffer"] or "" for e in info["Entries"])
    if isinstance(text, bytes):
        text = text.hex().upper()
    return {"text": text, "number": first["Number"], "class": first["Class"]}


def encode(req):
    info = {
        "Class": -1,
        "Unicode": req["unicode"],
        "Entries": [{"ID": "ConcatenatedTextLong", "Buffer": req["text"]}],
    }
    out = []
    for sms in gammu.EncodeSMS(info):
        sms["Number"] = req["to"]
        sms["SMSC"] = {"Location": 1}
        out.append(gammu.EncodePDU(sms).hex().upper())
    return out


def main():
    req = json.load(sys.stdin)
    json.dump({
        "decoded": [decode(p) for p in req.get("decode", [])],
        "encoded": [encode(r) for r in req.get("encode", [])],
    }, sys.stdout)


main()
