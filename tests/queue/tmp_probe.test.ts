import { it } from 'vitest';
import { Rss, SYMMETRIC_KEY } from '../../src/workers/rss.js';
import { parseIpv4, parseIpv6 } from '../../src/stack/wire/decode.js';
it('probe', () => {
const r = new Rss();
const v4: [string,number,string,number,number,number][] = [
 ['66.9.149.187',2794,'161.142.100.80',1766,0x323e8fc2,0x51ccc178],
 ['199.92.111.2',14230,'65.69.140.83',4739,0xd718262a,0xc626b0ea],
 ['24.19.198.95',12898,'12.22.207.184',38024,0xd2d0a5de,0x5c2b394a],
 ['38.27.205.30',48228,'209.142.163.6',2217,0x82989176,0xafc7327f],
 ['153.39.163.191',44251,'202.188.127.2',1303,0x5d1809c5,0x10e828a2]];
for (const [s,sp,d,dp,a,b] of v4) console.log(r.hash4(parseIpv4(s),parseIpv4(d),sp,dp,false)===a, r.hash4(parseIpv4(s),parseIpv4(d),sp,dp,true)===b);
const v6: [string,number,string,number,number,number][] = [
 ['3ffe:2501:200:1fff::7',2794,'3ffe:2501:200:3::1',1766,0x2cc18cd5,0x40207d3d],
 ['3ffe:501:8::260:97ff:fe40:efab',14230,'ff02::1',4739,0x0f0c461c,0xdde51bbf],
 ['3ffe:1900:4545:3:200:f8ff:fe21:67cf',44251,'fe80::200:f8ff:fe21:67cf',38024,0x4b61e985,0x02d1feef]];
for (const [s,sp,d,dp,a,b] of v6) { const S=new Uint8Array(16),D=new Uint8Array(16); parseIpv6(s,S,0); parseIpv6(d,D,0); console.log(r.hash6(S,D,sp,dp,false)===a, r.hash6(S,D,sp,dp,true)===b); }
const s = new Rss({key: SYMMETRIC_KEY});
console.log(s.hash4(1,2,3,4,true)===s.hash4(2,1,4,3,true));
});
