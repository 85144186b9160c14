# A controlled ICMP echo responder for the ping tests (the kernel here has no sch_netem).
# Run inside a network namespace whose kernel echo reply is off
# (net.ipv4.icmp_echo_ignore_all=1). It reads echo requests on a raw socket and answers
# them itself, dropping a known share of them:
#   python3 echo-responder.py ADDR=LOSS [ADDR=LOSS ...]
# LOSS is a probability (0..1) drawn from a seeded generator, so a run is repeatable;
# 1 answers nothing (a dead host). Every request is printed as "ADDR SEQ answered|dropped"
# so the test knows the true loss; "ready" is printed once the socket is open.
import random
import socket
import struct
import sys

loss = {}
for arg in sys.argv[1:]:
    addr, p = arg.split('=')
    loss[addr] = float(p)
rng = random.Random(24)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def bound(addr: str) -> socket.socket:
    # A raw socket bound to the pinged address, so the reply comes from it.
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((addr, 0))
    return s


out = {}
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print('ready', flush=True)
while True:
    packet, (src, _) = sock.recvfrom(65535)
    ihl = (packet[0] & 0x0F) * 4
    dst = socket.inet_ntoa(packet[16:20])
    icmp = packet[ihl:]
    if len(icmp) < 8 or icmp[0] != 8 or dst not in loss:
        continue  # not an echo request to one of ours (our own replies come back here too)
    ident, seq = struct.unpack('!HH', icmp[4:8])
    if rng.random() < loss[dst]:
        print(dst, seq, 'dropped', flush=True)
        continue
    reply = bytearray(b'\0\0\0\0' + icmp[4:])
    struct.pack_into('!H', reply, 2, checksum(bytes(reply)))
    if dst not in out:
        out[dst] = bound(dst)
    out[dst].sendto(bytes(reply), (src, 0))
    print(dst, seq, 'answered', flush=True)
