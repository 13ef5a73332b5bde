// SPDX-License-Identifier: GPL-2.0
/*
 * The message trace: at debug level, one line for every IKE message in and
 * out, in charon's notation, with the transport it travels on:
 *
 *   c[1]: sending IKE_AUTH request 1 [ IDi AUTH SA TSi TSr N(INIT_CONTACT) ]
 *         to 10.0.0.2[4500] over udp/4500 (260 bytes)
 *   c[1]: received IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) ... ]
 *         from 10.0.0.2[500] over udp/500 (312 bytes)
 *
 * Protected messages are traced with their inner payloads: sent when they
 * are sealed (ikesa.c seal_message), received once decrypted.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "exch.h"
#include "log.h"

/* charon's short names of the payloads */
static const char *pl_short(uint8_t type)
{
	switch (type) {
	case IKEV2_PL_SA: return "SA";
	case IKEV2_PL_KE: return "KE";
	case IKEV2_PL_IDI: return "IDi";
	case IKEV2_PL_IDR: return "IDr";
	case IKEV2_PL_CERT: return "CERT";
	case IKEV2_PL_CERTREQ: return "CERTREQ";
	case IKEV2_PL_AUTH: return "AUTH";
	case IKEV2_PL_NONCE: return "No";
	case IKEV2_PL_NOTIFY: return "N";
	case IKEV2_PL_DELETE: return "D";
	case IKEV2_PL_VENDOR: return "V";
	case IKEV2_PL_TSI: return "TSi";
	case IKEV2_PL_TSR: return "TSr";
	case IKEV2_PL_SK: return "SK";
	case IKEV2_PL_CP: return "CP";
	case IKEV2_PL_EAP: return "EAP";
	case IKEV2_PL_SKF: return "EF";
	case IKEV2_PL_PS: return "PS";
	}
	return NULL;
}

/* charon's short names of the notify types it shows most */
static const char *notify_short(const struct engine *e, uint16_t type)
{
	if (e && e->cfg && type == e->cfg->daemon.separate_transports_notify)
		return "SEP_TRANSPORTS";
	if (e && e->cfg && type == e->cfg->daemon.esp_transport_notify)
		return "ESP_TRANSPORT";
	switch (type) {
	case IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPP_CRIT_PL";
	case IKEV2_N_INVALID_IKE_SPI: return "INVAL_IKE_SPI";
	case IKEV2_N_INVALID_MAJOR_VERSION: return "INVAL_MAJOR";
	case IKEV2_N_INVALID_SYNTAX: return "INVAL_SYN";
	case IKEV2_N_INVALID_MESSAGE_ID: return "INVAL_MID";
	case IKEV2_N_INVALID_SPI: return "INVAL_SPI";
	case IKEV2_N_NO_PROPOSAL_CHOSEN: return "NO_PROP";
	case IKEV2_N_INVALID_KE_PAYLOAD: return "INVAL_KE";
	case IKEV2_N_AUTHENTICATION_FAILED: return "AUTH_FAILED";
	case IKEV2_N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR";
	case IKEV2_N_NO_ADDITIONAL_SAS: return "NO_ADD_SAS";
	case IKEV2_N_INTERNAL_ADDRESS_FAILURE: return "INT_ADDR_FAIL";
	case IKEV2_N_FAILED_CP_REQUIRED: return "FAIL_CP_REQ";
	case IKEV2_N_TS_UNACCEPTABLE: return "TS_UNACCEPT";
	case IKEV2_N_INVALID_SELECTORS: return "INVAL_SEL";
	case IKEV2_N_TEMPORARY_FAILURE: return "TEMP_FAIL";
	case IKEV2_N_CHILD_SA_NOT_FOUND: return "NO_CHILD_SA";
	case IKEV2_N_INITIAL_CONTACT: return "INIT_CONTACT";
	case IKEV2_N_SET_WINDOW_SIZE: return "SET_WINSIZE";
	case IKEV2_N_ADDITIONAL_TS_POSSIBLE: return "ADD_TS_POSS";
	case IKEV2_N_IPCOMP_SUPPORTED: return "IPCOMP_SUP";
	case IKEV2_N_NAT_DETECTION_SOURCE_IP: return "NATD_S_IP";
	case IKEV2_N_NAT_DETECTION_DESTINATION_IP: return "NATD_D_IP";
	case IKEV2_N_COOKIE: return "COOKIE";
	case IKEV2_N_USE_TRANSPORT_MODE: return "USE_TRANSP";
	case IKEV2_N_REKEY_SA: return "REKEY_SA";
	case IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED: return "ESP_TFC_PAD_N";
	case IKEV2_N_NON_FIRST_FRAGMENTS_ALSO: return "NON_FIRST_FRAG";
	case IKEV2_N_MOBIKE_SUPPORTED: return "MOBIKE_SUP";
	case IKEV2_N_UPDATE_SA_ADDRESSES: return "UPD_SA_ADDR";
	case IKEV2_N_COOKIE2: return "COOKIE2";
	case IKEV2_N_REDIRECT_SUPPORTED: return "REDIR_SUP";
	case IKEV2_N_CHILDLESS_IKEV2_SUPPORTED: return "CHDLESS_SUP";
	case IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED: return "FRAG_SUP";
	case IKEV2_N_SIGNATURE_HASH_ALGORITHMS: return "HASH_ALG";
	case IKEV2_N_PUZZLE: return "PUZZLE";
	case IKEV2_N_INTERMEDIATE_EXCHANGE_SUPPORTED: return "IKE_INT_SUP";
	case IKEV2_N_ADDITIONAL_KEY_EXCHANGE: return "ADD_KE";
	}
	return NULL;
}

/* "[ IDi AUTH N(INIT_CONTACT) ]" of a parsed payload chain. */
static void payload_list(const struct engine *e, const struct ike_msg *m, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "[");

	for (int i = 0; i < m->n && o < len; i++) {
		const struct ike_pl *p = &m->pl[i];
		const char *name = pl_short(p->type);

		if (p->type == IKEV2_PL_NOTIFY && p->len >= 4) {
			uint16_t t = (uint16_t)(p->body[2] << 8 | p->body[3]);
			const char *n = notify_short(e, t);

			o += (size_t)(n ? snprintf(out + o, len - o, " N(%s)", n) :
				      snprintf(out + o, len - o, " N(%u)", t));
		} else if (name) {
			o += (size_t)snprintf(out + o, len - o, " %s", name);
		} else {
			o += (size_t)snprintf(out + o, len - o, " PL(%u)", p->type);
		}
	}
	if (o < len)
		snprintf(out + o, len - o, " ]");
}

/* "udp/500", "udp/4500", "tcp/4500": the transport and the port on the
 * daemon's side (for TCP the listener's, whichever end that is). */
static void xport_text(const struct engine *e, const struct ike_path *p, char *out, size_t len)
{
	uint16_t port = addr_port(&p->local);

	if (p->kind == XPORT_TCP && e && e->cfg) {
		bool listener = false;

		for (int i = 0; i < e->cfg->daemon.n_tcp_ports; i++)
			listener |= e->cfg->daemon.tcp_ports[i] == port;
		if (!listener)
			port = addr_port(&p->remote);
	}
	snprintf(out, len, "%s/%u", p->kind == XPORT_TCP ? "tcp" : "udp", port);
}

static void trace(const struct engine *e, const struct ike_sa *sa, bool out,
		  const struct ike_hdr *h, const struct ike_msg *pls,
		  const struct ike_path *path, size_t bytes, int frags)
{
	char list[512], peer[64], xp[16], fr[32] = "";

	payload_list(e, pls, list, sizeof(list));
	addr_str(&path->remote, peer, sizeof(peer));
	xport_text(e, path, xp, sizeof(xp));
	if (frags > 1)
		snprintf(fr, sizeof(fr), " in %d fragments", frags);
	log_debug("%s%s%s %s %s %u %s %s %s[%u] over %s (%zu bytes%s)",
		  sa ? ike_sa_name(sa) : "", sa ? ": " : "", out ? "sending" : "received",
		  ike_exch_name(h->exch), h->flags & IKEV2_FLAG_RESPONSE ? "response" : "request",
		  h->msgid, list, out ? "to" : "from", peer, addr_port(&path->remote), xp,
		  bytes, fr);
}

void trace_rx(const struct engine *e, const struct ike_sa *sa, const struct ike_rx *rx,
	      const struct ike_msg *outer, const struct ike_msg *inner)
{
	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	trace(e, sa, false, &outer->hdr, inner ? inner : outer, &rx->path, rx->len, 0);
}

void trace_tx_plain(struct engine *e, const struct ike_path *path, const uint8_t *p, size_t len)
{
	struct ike_msg *m;

	if (!log_enabled(LOG_LVL_DEBUG) || len < IKEV2_HDR_LEN)
		return;
	m = calloc(1, sizeof(*m));
	/* protected ones are traced when they are sealed */
	if (m && !ike_msg_parse(p, len, m) && !m->sk)
		trace(e, ike_sa_by_spi(e, m->hdr.spi_i), true, &m->hdr, m, path, len, 0);
	free(m);
}

void trace_tx_sealed(const struct ike_sa *sa, const struct ike_hdr *h, uint8_t first,
		     const uint8_t *plain, size_t len, size_t bytes, int frags)
{
	struct ike_msg *m;

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	m = calloc(1, sizeof(*m));
	if (m && !ike_chain_parse(first, plain, len, m))
		trace(sa->e, sa, true, h, m, &sa->path, bytes, frags);
	free(m);
}

/* --- why a negotiation failed, in the words of the configuration ----------- */

/* "aes128-sha1-modp1024, aes256gcm16-prfsha256-x25519" of an SA payload. */
static void offered_str(const struct ike_sa_pl *sap, char *out, size_t len)
{
	static const uint8_t order[] = {
		IKEV2_TRANS_ENCR, IKEV2_TRANS_INTEG, IKEV2_TRANS_PRF, IKEV2_TRANS_KE, 6, 7, 8, 9,
		10, 11, 12, IKEV2_TRANS_ESN,	/* RFC 9370's ADDKE1..7 as keN_ */
	};
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < sap->nprop && o < len; i++) {
		const struct ike_proposal *p = &sap->p[i];
		bool first = true;

		o += (size_t)snprintf(out + o, len - o, "%s", i ? ", " : "");
		for (size_t k = 0; k < sizeof(order); k++)
			for (int t = 0; t < p->ntrans && o < len; t++) {
				char b[32], kn[8] = "";
				const char *n;

				if (p->t[t].type != order[k])
					continue;
				if (order[k] >= IKEV2_TRANS_ADDKE1)
					snprintf(kn, sizeof(kn), "ke%d_", order[k] - IKEV2_TRANS_ADDKE1 + 1);
				n = order[k] == IKEV2_TRANS_ESN ? (p->t[t].id ? "esn" : "noesn") :
				    order[k] >= IKEV2_TRANS_ADDKE1 && !p->t[t].id ? "none" :
				    config_alg_name(order[k] >= IKEV2_TRANS_ADDKE1 ? IKEV2_TRANS_KE :
						    order[k], p->t[t].id, p->t[t].keylen, b, sizeof(b));
				o += (size_t)snprintf(out + o, len - o, "%s%s%s", first ? "" : "-", kn, n);
				first = false;
			}
	}
}

void explain_ike_proposals(const char *from, const struct ike_sa_pl *sap,
			   const struct conn_cfg *cc)
{
	char offered[512], ours[512];

	if (!log_enabled(LOG_LVL_INFO))
		return;
	offered_str(sap, offered, sizeof(offered));
	config_proposals_str(cc->ike, cc->n_ike, ours, sizeof(ours));
	log_info_rl("IKE_SA_INIT from %s: no acceptable proposal: the peer offered %s; connection %s has %s",
		    from, offered, cc->name, ours);
}

void explain_esp_proposals(const struct ike_sa *sa, const struct ike_sa_pl *sap,
			   const struct child_cfg *ch, bool reply)
{
	char offered[512], ours[512];

	offered_str(sap, offered, sizeof(offered));
	config_proposals_str(ch->esp, ch->n_esp, ours, sizeof(ours));
	log_warn("%s: Child SA %s: %s %s; configured esp_proposals %s", ike_sa_name(sa), ch->name,
		 reply ? "the responder chose" : "no acceptable ESP proposal: the peer offered",
		 offered, ours);
}

static int bit(const uint8_t *a, size_t i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

/* One selector: "192.168.1.0/24" when its range is a prefix, else
 * "10.0.0.1-10.0.0.9"; "[6/80-80]" after it for a protocol and ports. */
static void sel_str(int family, const uint8_t *start, const uint8_t *end, uint8_t proto,
		    uint16_t port_lo, uint16_t port_hi, char *out, size_t len)
{
	size_t bits = family == AF_INET6 ? 128 : 32, plen = 0, o;
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	bool prefix = true;

	while (plen < bits && bit(start, plen) == bit(end, plen))
		plen++;
	for (size_t i = plen; i < bits && prefix; i++)
		prefix = !bit(start, i) && bit(end, i);
	inet_ntop(family, start, a, sizeof(a));
	inet_ntop(family, end, b, sizeof(b));
	o = (size_t)(prefix ? snprintf(out, len, "%s/%zu", a, plen) :
			      snprintf(out, len, "%s-%s", a, b));
	if (proto && o < len)
		snprintf(out + o, len - o, "[%u/%u-%u]", proto, port_lo, port_hi);
}

/* n selectors, one(arr, i, ...) writing the i-th, joined by commas. */
static void sels_join(const void *arr, int n, void (*one)(const void *, int, char *, size_t),
		      char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i)
			out[o++] = ',';
		one(arr, i, out + o, len - o);
		o += strlen(out + o);
	}
}

static void ts_cfg_one(const void *arr, int i, char *out, size_t len)
{
	const struct ts_cfg *t = (const struct ts_cfg *)arr + i;

	sel_str(t->family, t->start, t->end, t->proto, t->port_lo, t->port_hi, out, len);
}

void ts_cfgs_str(const struct ts_cfg *t, int n, char *out, size_t len)
{
	sels_join(t, n, ts_cfg_one, out, len);
}

static void ts_pl_one(const void *arr, int i, char *out, size_t len)
{
	const struct ike_ts *t = (const struct ike_ts *)arr + i;

	sel_str(t->type == IKEV2_TS_IPV6_ADDR_RANGE ? AF_INET6 : AF_INET, t->start, t->end,
		t->proto, t->sport, t->eport, out, len);
}

/* A TS payload's selectors written as the configured ones are (sel_str),
 * so the two sides of a mismatch read alike. */
static void ts_pl_str(const struct ike_ts_pl *ts, char *out, size_t len)
{
	sels_join(ts->ts, ts->n, ts_pl_one, out, len);
}

void explain_ts(const char *who, const struct child_ts *ts, const struct conn_cfg *cc,
		const struct child_cfg *one, bool reply)
{
	char tsi[512], tsr[512], l[512], r[512];

	ts_pl_str(&ts->tsi, tsi, sizeof(tsi));
	ts_pl_str(&ts->tsr, tsr, sizeof(tsr));
	for (const struct child_cfg *ch = one ? one : cc->children; ch; ch = one ? NULL : ch->next) {
		ts_cfgs_str(ch->local_ts, ch->n_local_ts, l, sizeof(l));
		ts_cfgs_str(ch->remote_ts, ch->n_remote_ts, r, sizeof(r));
		log_warn("%s: traffic selectors do not fit child %s: %s TSi %s, TSr %s; configured local_ts %s, remote_ts %s",
			 who, ch->name, reply ? "the responder narrowed to" : "the peer proposes",
			 tsi, tsr, l, r);
	}
}

void explain_no_conn(const struct ike_sa *sa, const struct id_cfg *idr)
{
	char got[PEER_ID_STRLEN], want[PEER_ID_STRLEN * 2], me[PEER_ID_STRLEN], list[1024] = "";
	size_t o = 0;

	if (sa->peer_id)
		id_str(sa->peer_id, got, sizeof(got));
	else
		snprintf(got, sizeof(got), "-");
	for (const struct conn_cfg *c = sa->e->cfg->conns; c && o < sizeof(list); c = c->next) {
		if (dns_remote_match(sa->e, c, &sa->path.remote) < 0)
			continue;
		if (c->remote.id.type)
			id_str(&c->remote.id, want, sizeof(want));
		else
			snprintf(want, sizeof(want), "any");
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s (remote id %s", o ? "; " : "",
				      c->name, want);
		if (idr && c->local.id.type && o < sizeof(list)) {
			id_str(&c->local.id, me, sizeof(me));
			o += (size_t)snprintf(list + o, sizeof(list) - o, ", local id %s", me);
		}
		if (o < sizeof(list))
			o += (size_t)snprintf(list + o, sizeof(list) - o, ")");
	}
	if (idr)
		id_str(idr, me, sizeof(me));
	log_warn("%s: no connection for the peer's identity %s%s%s; configured for its address: %s",
		 ike_sa_name(sa), got, idr ? " asking for ours to be " : "", idr ? me : "",
		 o ? list : "none");
}
