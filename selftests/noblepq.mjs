// SPDX-License-Identifier: GPL-2.0
// ML-KEM (FIPS 203) and ML-DSA (FIPS 204) from @noble/post-quantum, an
// implementation that is not OpenSSL's, for the Python test peer
// (selftests/ikev2.py, class Noble).  One process serves a whole test:
// one JSON request a line on stdin, one JSON answer a line on stdout, byte
// strings in hex.
//
//   node noblepq.mjs DIR     DIR holds node_modules/@noble/post-quantum
//                            (scripts/noble-pq.sh installs it there)
//
//   {"op":"kem-keygen","alg":"ml_kem768"}          -> {"ek":..,"dk":..}
//   {"op":"kem-encap","alg":..,"ek":..[,"m":..]}   -> {"ct":..,"ss":..}
//   {"op":"kem-decap","alg":..,"ct":..,"dk":..}    -> {"ss":..}
//   {"op":"dsa-keygen","alg":"ml_dsa65","seed":..} -> {"pk":..,"sk":..}
//   {"op":"dsa-sign","alg":..,"sk":..,"msg":..}    -> {"sig":..}
//   {"op":"dsa-verify","alg":..,"pk":..,"msg":..,"sig":..} -> {"ok":true|false}
//   {"op":"version"}                               -> {"version":"0.7.1"}
//
// An operation noble refuses (an encapsulation key failing FIPS 203's
// modulus check, a wrong length) answers {"error":"..."}.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const dir = process.argv[2];
const base = `${dir}/node_modules/@noble/post-quantum`;
const kem = await import(pathToFileURL(`${base}/ml-kem.js`).href);
const dsa = await import(pathToFileURL(`${base}/ml-dsa.js`).href);
const version = JSON.parse(readFileSync(`${base}/package.json`, 'utf8')).version;

const hex = (b) => Buffer.from(b).toString('hex');
const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'));
const algs = {
	ml_kem512: kem.ml_kem512, ml_kem768: kem.ml_kem768, ml_kem1024: kem.ml_kem1024,
	ml_dsa44: dsa.ml_dsa44, ml_dsa65: dsa.ml_dsa65, ml_dsa87: dsa.ml_dsa87,
};

function run(r) {
	if (r.op === 'version')
		return { version };
	const a = algs[r.alg];
	if (!a)
		throw new Error(`unknown algorithm ${r.alg}`);
	switch (r.op) {
	case 'kem-keygen': {
		const k = r.seed ? a.keygen(bytes(r.seed)) : a.keygen();
		return { ek: hex(k.publicKey), dk: hex(k.secretKey) };
	}
	case 'kem-encap': {
		const e = r.m ? a.encapsulate(bytes(r.ek), bytes(r.m)) : a.encapsulate(bytes(r.ek));
		return { ct: hex(e.cipherText), ss: hex(e.sharedSecret) };
	}
	case 'kem-decap':
		return { ss: hex(a.decapsulate(bytes(r.ct), bytes(r.dk))) };
	case 'dsa-keygen': {
		const k = a.keygen(bytes(r.seed));
		return { pk: hex(k.publicKey), sk: hex(k.secretKey) };
	}
	case 'dsa-sign':
		return { sig: hex(a.sign(bytes(r.msg), bytes(r.sk))) };
	case 'dsa-verify':
		return { ok: a.verify(bytes(r.sig), bytes(r.msg), bytes(r.pk)) };
	}
	throw new Error(`unknown operation ${r.op}`);
}

for await (const line of createInterface({ input: process.stdin })) {
	let out;
	try {
		out = run(JSON.parse(line));
	} catch (e) {
		out = { error: String(e && e.message ? e.message : e) };
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}
