#!/usr/bin/env python3
# make_corpus.py - owns the seed corpus of the fuzz target: writes test/fuzz/corpus/*, small
# inputs in the encoding that fuzz_ops.c decodes (a configuration byte, then per operation an
# opcode byte and its argument bytes), each aimed at one mechanism. Rerun after changing the
# encoding: python3 test/fuzz/make_corpus.py
import os

OPS = dict(create=0, alloc=1, zero=2, aligned=3, free=4, realloc=5, reset=6, delete=7, parent=8,
           reserve=9, bump=10, spanfree=11, trim=12, maintain=13, fault=14, callback=15, bad=16,
           huge=17, burst=18, freemany=19)

def sz(n=None, sel=None, *args):
    """Encode a size: sz(0), sz(small) or an explicit selector with argument bytes."""
    if sel is not None:
        return bytes([sel, *args])
    if n == 0:
        return bytes([0])
    if n < 256:
        return bytes([2, n])
    if n < 65536:
        return bytes([4, n & 255, n >> 8])
    return bytes([6, n & 255, (n >> 8) & 255, (n >> 16) & 255])

def pow2(k, delta=0):
    return bytes([5, k, delta + 1])

def create(parent_byte=0, initial=0, maxc=0, limit=0, span=False):
    ob = initial + 8 * maxc + 32 * limit
    return bytes([OPS['create'], parent_byte, ob, 1 if span else 0])

def op(name, *args):
    return bytes([OPS[name], *args])

def alloc(slot, size, kind='alloc'):
    return bytes([OPS[kind], slot]) + size

def aligned(slot, size, align_log2):
    return bytes([OPS['aligned'], slot]) + size + bytes([align_log2])

seeds = {}
# 1. basic life: root, small allocations, free, realloc, reset, delete
seeds['01-basic'] = bytes([0]) + create() + alloc(0, sz(24)) + alloc(0, sz(0)) + alloc(0, sz(300), 'zero') + \
    op('free', 0) + op('realloc', 0) + sz(5000) + op('reset', 0) + alloc(0, sz(64)) + op('delete', 0)
# 2. chain doubling: bursts into a small-chunk context
seeds['02-chain'] = bytes([1]) + create(initial=1) + b''.join(op('burst', 0, 63, 199) for _ in range(6)) + \
    op('freemany', 0, 0) + op('burst', 0, 40, 120) + op('reset', 0)
# 3. large allocations: dedicated chunks, around the threshold, 4 MiB, realloc across the threshold
seeds['03-large'] = bytes([0]) + create() + alloc(0, sz(None, 7, 32)) + alloc(0, sz(None, 7, 33)) + \
    alloc(0, pow2(22)) + alloc(0, pow2(20, 1)) + op('realloc', 0) + pow2(21) + op('free', 1) + op('trim')
# 4. tree: children, grandchildren, reparent, cycle attempt, delete of a middle node
seeds['04-tree'] = bytes([2]) + create() + create(parent_byte=1) + create(parent_byte=5) + create(parent_byte=9) + \
    alloc(1, sz(40)) + alloc(2, sz(80)) + alloc(3, sz(120)) + op('parent', 0, 9) + op('parent', 3, 0) + \
    op('delete', 1) + op('reset', 0)
# 5. aligned allocations of every alignment, and bad alignments
seeds['05-aligned'] = bytes([0]) + create() + b''.join(aligned(0, sz(33), k) for k in range(0, 16)) + \
    op('freemany', 0, 1)
# 6. spans: reserve, bump, forward to a new chunk, free, large allocation beside, reset
seeds['06-span'] = bytes([1]) + create(initial=1, span=True) + op('reserve', 0) + sz(64) + \
    b''.join(op('bump', 0, 200, 3, 1) for _ in range(40)) + op('spanfree', 3) + alloc(0, sz(4000)) + \
    op('reserve', 0) + sz(20000) + op('bump', 0, 0, 64, 1) + op('reset', 0) + op('bump', 0, 16, 0, 1)
# 7. release: grow, delete, maintain with a moving clock, trim
seeds['07-release'] = bytes([2]) + create(initial=5) + alloc(0, pow2(21)) + alloc(0, pow2(19)) + \
    op('burst', 0, 60, 100) + create(initial=5) + alloc(1, pow2(18)) + op('delete', 0) + \
    op('maintain', 10, 0) + op('maintain', 0xff, 0x07) + op('maintain', 0xff, 0x0f) + op('trim') + alloc(0, sz(10))
# 8. fault injection: next mapping fails during create, alloc, realloc, span reserve; every-mode
seeds['08-faults'] = bytes([1]) + op('fault', 0) + create() + create() + op('fault', 0) + alloc(0, pow2(21)) + \
    op('fault', 1) + op('burst', 0, 63, 199) + op('burst', 0, 63, 199) + op('fault', 7) + create(span=True) + \
    alloc(0, pow2(22)) + op('fault', 7) + create(span=True) + op('fault', 0) + op('reserve', 1) + pow2(20) + \
    op('realloc', 0) + pow2(22)
# 9. reset callbacks across a tree, with limits
seeds['09-callbacks'] = bytes([3]) + create(limit=3) + create(parent_byte=1) + create(parent_byte=5) + \
    op('callback', 0) + op('callback', 0) + op('callback', 1) + op('callback', 2) + op('callback', 2) + \
    op('reset', 0) + op('callback', 0) + alloc(0, pow2(16)) + alloc(0, pow2(16)) + op('delete', 0)
# 10. bad input of every kind, a huge request, limits hit
seeds['10-bad'] = bytes([0]) + create(limit=3) + create(span=True) + alloc(0, sz(16)) + \
    b''.join(op('bad', k, 0, 0) for k in range(10)) + op('huge', 0) + op('huge', 1) + \
    alloc(0, pow2(16)) + alloc(0, pow2(17)) + op('realloc', 0) + pow2(20)
# 11. size 0 and tiny sizes, unique pointers, realloc to 0 and back
seeds['11-zero'] = bytes([0]) + create() + b''.join(alloc(0, sz(0)) for _ in range(8)) + alloc(0, sz(1)) + \
    op('realloc', 2) + sz(0) + op('realloc', 8) + sz(0) + op('realloc', 2) + sz(100) + op('freemany', 0, 0)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
print(f'{len(seeds)} seeds written to {out}')
