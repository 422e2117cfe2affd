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

With the argument --draw it restates docs/draw-spec.md instead, from the
text of the spec alone (tests/test_draw.c compares it with common/draw.c):
stdin is a JSON object {"task", "r" (hex), "witnesses": [[principal,
entropy]...], "strata": [[name, k, [ids...]]...], "pool": [[id, 0|1]...],
"conflicts": [[inspector, object]...], "group_size", "experts", "cap",
"recusals": [[object, inspector]...]}; stdout is the snapshot digests, the
seed, the picks, the groups, the shortfalls and the recusal outcomes, one
per line, in the order draw_lines() writes them.
"""

import hashlib
import json
import sys


def sha256_hex(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def sha256_uniform(s):
    digits = "{:064d}".format(int(sha256_hex(s), 16))
    return "0." + digits[::-1]


def ticket(item_id, seed_hash):
    return sha256_uniform(seed_hash + item_id)


def lp(b):
    return len(b).to_bytes(4, "big") + b


def snapshot_digests(strata, pool, conflicts):
    pops = []
    for _name, _k, ids in strata:
        text = "shuangsui/v1 population\n" + "".join(i + "\n" for i in ids)
        pops.append(hashlib.sha256(text.encode("utf-8")).digest())
    text = "shuangsui/v1 inspectors\n" + "".join(
        "{} {}\n".format(i, "expert" if e else "regular") for i, e in pool)
    pool_d = hashlib.sha256(text.encode("utf-8")).digest()
    text = "shuangsui/v1 conflicts\n" + "".join("{} {}\n".format(i, o) for i, o in conflicts)
    conf_d = hashlib.sha256(text.encode("utf-8")).digest()
    return pops, pool_d, conf_d


def draw_seed(task, r, witnesses, strata, pops, pool_d, conf_d):
    m = b"shuangsui/v1/seed\x00" + lp(task.encode("utf-8")) + lp(r)
    m += len(witnesses).to_bytes(4, "big")
    for principal, entropy in witnesses:
        m += lp(principal.encode("utf-8")) + lp(entropy.encode("utf-8"))
    m += len(strata).to_bytes(4, "big")
    for (name, _k, _ids), d in zip(strata, pops):
        m += lp(name.encode("utf-8")) + d
    m += pool_d + conf_d
    return hashlib.sha256(m).hexdigest()


def candidate_order(seed, obj, expert, pool, conflicts):
    s = seed + "|" + obj + ("|expert" if expert else "")
    h = sha256_hex(s)
    cands = [i for i, e in pool if bool(e) == expert and (i, obj) not in conflicts]
    return [i for _t, i in sorted((ticket(i, h), i) for i in cands)]


def draw_lines(spec):
    strata = spec["strata"]
    pool = spec["pool"]
    conflicts = set((i, o) for i, o in spec["conflicts"])
    cap = spec["cap"]
    pops, pool_d, conf_d = snapshot_digests(strata, pool, spec["conflicts"])
    seed = draw_seed(spec["task"], bytes.fromhex(spec["r"]), spec["witnesses"], strata,
                     pops, pool_d, conf_d)
    out = ["digest {}".format(d.hex()) for d in pops]
    out += ["pool {}".format(pool_d.hex()), "conflicts {}".format(conf_d.hex())]
    out.append("seed " + seed)
    drawn = []
    for name, k, ids in strata:
        order = sorted((ticket(i, sha256_hex(seed)), i) for i in ids)[:k]
        for t, i in order:
            out.append("pick {} {} {}".format(name, t, i))
            drawn.append(i)
    load = {}
    groups = {}
    for o in drawn:
        groups[o] = {}
        for expert, want in ((False, spec["group_size"]), (True, spec["experts"])):
            taken = []
            if want > 0:
                for i in candidate_order(seed, o, expert, pool, conflicts):
                    if len(taken) == want:
                        break
                    if cap and load.get(i, 0) >= cap:
                        continue
                    taken.append(i)
                    load[i] = load.get(i, 0) + 1
                out.append(" ".join(["experts" if expert else "match", o] + taken))
            groups[o][expert] = taken
        for expert, want in ((False, spec["group_size"]), (True, spec["experts"])):
            if len(groups[o][expert]) < want:
                out.append("shortfall {} {} {}".format(
                    o, "experts" if expert else "inspectors", want - len(groups[o][expert])))
    flags = dict((i, bool(e)) for i, e in pool)
    recused = set()
    for o, i in spec["recusals"]:
        expert = flags[i]
        group = groups[o][expert]
        replacement = None
        for c in candidate_order(seed, o, expert, pool, conflicts):
            if c in group or (o, c) in recused or (cap and load.get(c, 0) >= cap):
                continue
            replacement = c
            break
        group.remove(i)
        load[i] -= 1
        recused.add((o, i))
        if replacement is not None:
            group.append(replacement)
            load[replacement] = load.get(replacement, 0) + 1
        out.append("recusal {} {} {}".format(o, i, replacement or "shortfall"))
    return out


def main():
    if sys.argv[1:] == ["--draw"]:
        spec = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        sys.stdout.buffer.write("".join(l + "\n" for l in draw_lines(spec)).encode("utf-8"))
        return 0
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
