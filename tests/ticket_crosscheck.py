#!/usr/bin/env python3
"""ticket_crosscheck.py — an independent statement of the draw order, issue 5.

This file exists to cross-check common/ticket.c: tests/test_ticket.c feeds it
the same seed and ids and compares its output, line by line, with the C
order.  It follows the definitions of Rivest's public `consistent_sampler`
package (first generation, sampling without replacement), using only the
Python standard library (hashlib and Python's own big integers), so that it
shares no code and no arithmetic with the C implementation:

    sha256_hex(s)     = hashlib.sha256(s.encode("utf-8")).hexdigest()
    sha256_uniform(s) = "0." + reversed("{:064d}".format(int(sha256_hex(s), 16)))
    ticket(id, seed)  = sha256_uniform(sha256_hex(seed) + id)

The draw order sorts (ticket, id) pairs: ticket strings first, then ids.

Input (stdin, UTF-8): the first line is the seed, each further non-empty
line one id.  Output (stdout, UTF-8): one line "id<TAB>ticket" per id, in
draw order.
"""

import hashlib
import sys


def sha256_hex(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def sha256_uniform(s):
    digits = "{:064d}".format(int(sha256_hex(s), 16))
    return "0." + digits[::-1]


def ticket(item_id, seed_hash):
    return sha256_uniform(seed_hash + item_id)


def main():
    lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
    if not lines or lines == [""]:
        sys.stderr.write("ticket_crosscheck.py: no seed on stdin\n")
        return 2
    seed = lines[0]
    ids = [line for line in lines[1:] if line != ""]
    seed_hash = sha256_hex(seed)
    order = sorted((ticket(i, seed_hash), i) for i in ids)
    out = "".join("{}\t{}\n".format(i, t) for t, i in order)
    sys.stdout.buffer.write(out.encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
