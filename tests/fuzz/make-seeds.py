#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the generated seeds of corpus/state/ and corpus/dns-answer/ (state files need their
checksum, DNS answers are binary). Run from anywhere; rewrites only the files named here.
The hand-written seeds and the regression inputs (crash-*) are not touched."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    with open(os.path.join(HERE, 'corpus', target, name), 'wb') as f:
        f.write(data)


# --- state files (src/state.c: lines, then "end RECORDS FNV-1a-64") ---

def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return h


def state(records, written=1700000000000000, header='allowlistd-state 2', checksum=None):
    body = ''.join(line + '\n' for line in [header, 'written %d' % written] + records).encode()
    h = fnv1a64(body) if checksum is None else checksum
    return body + b'end %d %016x\n' % (len(records), h)


T = 1700000000000000
# Version 2: address GROUP HOST ADDRESS EXPIRY LAST_SEEN[ FIRST_SEEN], FIRST_SEEN only when
# earlier than LAST_SEEN.
addresses = [
    'address vendor-cm cm.vendor.example 192.0.2.1 %d %d %d' % (T + 7 * 86400 * 10**6, T, T - 3 * 86400 * 10**6),
    'address vendor-cm cm.vendor.example 2001:db8::1 %d %d' % (T + 3600 * 10**6, T - 10**6),
    'address relay relay1.vendor.example 198.51.100.7 %d 0' % (T + 10**6),
]
# Version 1 (still read): never a FIRST_SEEN.
addresses_v1 = [addresses[0].rsplit(' ', 1)[0]] + addresses[1:]
hosts = [
    'host vendor-cm cm.vendor.example %d 0 0 0 %d' % (T, T + 3600 * 10**6),
    'host relay relay1.vendor.example %d %d %d 3 %d SERVFAIL (AAAA)' % (T - 86400 * 10**6, T, T - 600 * 10**6, T + 60 * 10**6),
]
write('state', 'valid.state', state(addresses + hosts))
write('state', 'valid-v1.state', state(addresses_v1 + hosts, header='allowlistd-state 1'))
write('state', 'empty.state', state([]))
write('state', 'duplicates.state', state(addresses[:1] * 3 + hosts[:1] * 2))
write('state', 'absurd-expiry.state', state([
    'address g h.example 203.0.113.9 18446744073709551615 18446744073709551615 0',
    'host g h.example 18446744073709551615 0 0 4294967295 18446744073709551615']))
write('state', 'bad-checksum.state', state(addresses, checksum=0x0123456789abcdef))
write('state', 'other-version.state', state(addresses, header='allowlistd-state 3'))
write('state', 'truncated.state', state(addresses + hosts)[:-30])
write('state', 'bad-fields.state', state([
    'address g h.example 192.0.2.0/24 1 1 1',
    'address g h.example 192.0.2.1  1 1 1',
    'address g h.example 192.0.2.1 1 1 1',
    'address g h.example 192.0.2.1 1 1 2',
    'host G h.example 1 2 3 x 5',
    'host g h.example 1 2 3 4 5 \x01control']))

# --- DNS answers (RFC 1035 4.1), each read as the answer to an A and to an AAAA query ---

def name(n):
    out = b''
    for label in n.split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def header(qname, qtype, an, rcode=0, ns=0, ar=0, flags=0x8180):
    return struct.pack('>HHHHHH', 0x1234, flags | rcode, 1, an, ns, ar) + name(qname) + struct.pack('>HH', qtype, 1)


def rr(owner, rtype, ttl, rdata):
    # owner: bytes (a name or a compression pointer)
    return owner + struct.pack('>HHIH', rtype, 1, ttl, len(rdata)) + rdata


Q = b'\xc0\x0c'  # pointer to the question's name
A, CNAME, AAAA, OPT = 1, 5, 28, 41
v4 = lambda s: bytes(int(x) for x in s.split('.'))
v6 = lambda s: __import__('ipaddress').IPv6Address(s).packed

write('dns-answer', 'a.bin', header('cm.vendor.example', A, 2) + rr(Q, A, 300, v4('192.0.2.1')) + rr(Q, A, 60, v4('192.0.2.2')))
write('dns-answer', 'aaaa.bin', header('cm.vendor.example', AAAA, 1) + rr(Q, AAAA, 300, v6('2001:db8::1')))
# cname.vendor.example CNAME t.vendor.example (TTL 30), t A 198.51.100.7 (TTL 300)
m = header('cname.vendor.example', A, 2)
target_at = len(m) + 12
m += rr(Q, CNAME, 30, b'\x01t' + b'\xc0\x12')  # t + pointer to "vendor.example" in the question
m += rr(struct.pack('>H', 0xc000 | target_at), A, 300, v4('198.51.100.7'))
write('dns-answer', 'cname-chain.bin', m)
# A CNAME loop: a -> b -> a
m = header('a.example', A, 2)
m += rr(Q, CNAME, 60, name('b.example'))
m += rr(name('b.example'), CNAME, 60, name('a.example'))
write('dns-answer', 'cname-loop.bin', m)
write('dns-answer', 'nxdomain.bin', header('nx.example', A, 0, rcode=3))
write('dns-answer', 'truncated.bin', (header('cm.vendor.example', A, 1) + rr(Q, A, 300, v4('192.0.2.1')))[:-3])
write('dns-answer', 'high-ttl.bin', header('h.example', A, 1) + rr(Q, A, 0x80000000, v4('203.0.113.5')))
# An answer, an authority SOA-shaped record and an EDNS OPT record.
m = header('e.example', AAAA, 1, ns=1, ar=1)
m += rr(Q, AAAA, 120, v6('64:ff9b::c000:201'))
m += rr(b'\xc0\x0e', 6, 60, name('ns.example') + name('host.example') + struct.pack('>IIIII', 1, 2, 3, 4, 5))
m += b'\x00' + struct.pack('>HHIH', OPT, 1232, 0, 0)
write('dns-answer', 'sections.bin', m)
many = header('many.example', A, 40)
for i in range(40):
    many += rr(Q, A, 100 + i, bytes([198, 18, 0, i]))
write('dns-answer', 'many.bin', many)
