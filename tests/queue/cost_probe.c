// AF_PACKET UDP frame blaster for the pktpath cost probe: prints ns of this thread's CPU per packet.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
static uint16_t csum(const uint8_t *p, int n) { uint32_t s = 0; for (int i = 0; i < n; i += 2) s += (p[i] << 8) | p[i + 1]; while (s >> 16) s = (s & 0xffff) + (s >> 16); return ~s; }
static int mac(const char *s, uint8_t *m) { return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", m, m+1, m+2, m+3, m+4, m+5) == 6; }
int main(int argc, char **argv) {
  if (argc < 8) { fprintf(stderr, "usage: dev srcmac dstmac dstip dport count newflows(0|1)\n"); return 2; }
  int ifi = if_nametoindex(argv[1]); uint8_t sm[6], dm[6];
  if (!ifi || !mac(argv[2], sm) || !mac(argv[3], dm)) { fprintf(stderr, "bad dev/mac\n"); return 2; }
  uint32_t dip = ntohl(inet_addr(argv[4])); int dport = atoi(argv[5]); long count = atol(argv[6]); int newflows = atoi(argv[7]);
  int fd = socket(AF_PACKET, SOCK_RAW, 0); if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = ifi, .sll_halen = 6 }; memcpy(sa.sll_addr, dm, 6);
  enum { B = 64, L = 60 };
  static uint8_t fr[B][L]; struct mmsghdr mh[B]; struct iovec iov[B];
  for (int i = 0; i < B; i++) { iov[i].iov_base = fr[i]; iov[i].iov_len = L; memset(&mh[i], 0, sizeof mh[i]); mh[i].msg_hdr.msg_iov = &iov[i]; mh[i].msg_hdr.msg_iovlen = 1; mh[i].msg_hdr.msg_name = &sa; mh[i].msg_hdr.msg_namelen = sizeof sa; }
  struct timespec a, b; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  long sent = 0, flow = 0;
  while (sent < count) {
    int n = count - sent < B ? (int)(count - sent) : B;
    for (int i = 0; i < n; i++) {
      uint8_t *f = fr[i]; memcpy(f, dm, 6); memcpy(f + 6, sm, 6); f[12] = 8; f[13] = 0;
      uint8_t *ip = f + 14; memset(ip, 0, 20); ip[0] = 0x45; ip[2] = 0; ip[3] = 46; ip[8] = 64; ip[9] = 17;
      uint32_t sip = newflows ? (0xc6336400u | (10 + (flow / 60000) % 200)) : 0xc6336401u; // 198.51.100.x
      uint16_t sport = newflows ? 1024 + flow % 60000 : 40000; flow++;
      ip[12] = sip >> 24; ip[13] = sip >> 16; ip[14] = sip >> 8; ip[15] = sip; ip[16] = dip >> 24; ip[17] = dip >> 16; ip[18] = dip >> 8; ip[19] = dip;
      uint16_t c = csum(ip, 20); ip[10] = c >> 8; ip[11] = c;
      uint8_t *u = ip + 20; u[0] = sport >> 8; u[1] = sport; u[2] = dport >> 8; u[3] = dport; u[4] = 0; u[5] = 26; u[6] = 0; u[7] = 0;
    }
    int r = sendmmsg(fd, mh, n, 0); if (r <= 0) { perror("sendmmsg"); return 1; } sent += r;
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)count);
  return 0;
}
