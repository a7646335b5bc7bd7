/** The host-to-pod-network forwarder of the sandbox's worker (src/sandbox/pod-runtime.ts), shared with the executable's entry. */
export const FORWARDER_FLAG = '--vnode-sandbox-forwarder';

/** The forwarder's code: run by `node -e`, or by the executable when its first argument is FORWARDER_FLAG. */
export const FORWARDER = `const net=require('node:net');const [sock,host,port]=process.argv.slice(-3);
net.createServer((c)=>{const u=net.connect(sock);c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy());}).listen(Number(port),host);`;
