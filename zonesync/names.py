"""Domain names as text, fast for the common case.

`dns.name.Name.to_text()` escapes label by label and byte by byte; with
10,000 zones, the five texts each zone needs at start cost about a second
(issue 5). A name whose labels hold only bytes printed as themselves is
joined at once; any other goes to dnspython, so the text is always
exactly dnspython's.
"""

from __future__ import annotations

import dns.name

# Bytes dnspython prints as themselves in a label (dns.name._escapify):
# printable ASCII except "().;\@$ and space.
NAME_PLAIN = bytes(c for c in range(0x21, 0x7F) if c not in b'"().;\\@$')


def name_text(name: dns.name.Name, omit_final_dot: bool = False) -> str:
    """`name.to_text(omit_final_dot)`, without dnspython for plain labels."""
    labels = name.labels
    if len(labels) < 2 or labels[-1] != b"":
        return name.to_text(omit_final_dot)
    joined = b".".join(labels[:-1])
    # Only the joining dots may remain: a dot inside a label is escaped.
    if joined.translate(None, NAME_PLAIN) != b"." * (len(labels) - 2):
        return name.to_text(omit_final_dot)
    text = joined.decode("ascii")
    return text if omit_final_dot else text + "."
