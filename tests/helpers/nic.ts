/**
 * A snapshot's description of a 2-queue virtio NIC eth0 on a 4-CPU host, as `pktpath snapshot`
 * writes it: ethtool -l/-x/-g (ethtool/eth0.txt) and cpus.txt (IRQs of rx-0 on CPU 3, rx-1 on CPU 2).
 */
export const ETHTOOL_ETH0 = `# ethtool -l eth0
Channel parameters for eth0:
Pre-set maximums:
RX:		n/a
TX:		n/a
Other:		n/a
Combined:	4
Current hardware settings:
RX:		n/a
TX:		n/a
Other:		n/a
Combined:	2
# ethtool -x eth0
RX flow hash indirection table for eth0 with 2 RX ring(s):
    0:      1     0     1     0     1     0     1     0
    8:      1     0     1     0     1     0     1     0
RSS hash key:
6d:5a:56:da:25:5b:0e:c2:41:67:25:3d:43:a3:8f:b0:d0:ca:2b:cb:ae:7b:30:b4:77:cb:2d:a3:80:30:f2:0c:6a:42:b7:3b:be:ac:01:fa
RSS hash function:
    toeplitz: on
    xor: off
    crc32: off
# ethtool -g eth0
Ring parameters for eth0:
Pre-set maximums:
RX:		4096
RX Mini:	n/a
RX Jumbo:	n/a
TX:		4096
Current hardware settings:
RX:		512
RX Mini:	n/a
RX Jumbo:	n/a
TX:		512
`;

/** cpus.txt with the given rps_cpus masks for rx-0 and rx-1. */
export function cpusTxt(rps0: string, rps1: string): string {
  return `# nproc
4
# <irq> <dev-queue> <smp_affinity_list>
38 eth0:virtio2-input.0 3
39 eth0:virtio2-output.0 3
40 eth0:virtio2-input.1 2
41 eth0:virtio2-output.1 2
# <dev-queue> <rps_cpus>
eth0:rx-0 ${rps0}
eth0:rx-1 ${rps1}
`;
}
