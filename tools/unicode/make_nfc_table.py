#!/usr/bin/env python3
"""Writes the table that UnicodeNfc.cs reads, from the Unicode Character Database (Debian: package unicode-data).

One line per code point that NFC has to know about, all numbers hex:
    code;ccc;decomposition;excluded
ccc is the canonical combining class, decomposition the one-level canonical mapping (space-separated, empty when
none), excluded is 1 when the character never results from composition (Full_Composition_Exclusion).
Hangul syllables are algorithmic and not listed. Usage: make_nfc_table.py [UCD folder] > nfc_table.txt; gzip -9n.
"""
import sys

ucd = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
rows = {}
with open(f"{ucd}/UnicodeData.txt", encoding="utf-8") as f:
    for line in f:
        fields = line.split(";")
        code, ccc, decomposition = int(fields[0], 16), int(fields[3]), fields[5]
        canonical = decomposition and not decomposition.startswith("<")
        if ccc or canonical:
            rows[code] = [ccc, decomposition if canonical else "", 0]

with open(f"{ucd}/DerivedNormalizationProps.txt", encoding="utf-8") as f:
    for line in f:
        data = line.split("#")[0].split(";")
        if len(data) < 2 or data[1].strip() != "Full_Composition_Exclusion":
            continue
        first, _, last = data[0].strip().partition("..")
        for code in range(int(first, 16), int(last or first, 16) + 1):
            if code in rows:
                rows[code][2] = 1

with open(f"{ucd}/DerivedNormalizationProps.txt", encoding="utf-8") as f:
    source = f.readline().strip("# \n")
print(f"# NFC data from the Unicode Character Database ({source})")
for code in sorted(rows):
    ccc, decomposition, excluded = rows[code]
    print(f"{code:X};{ccc:X};{decomposition};{excluded}")
