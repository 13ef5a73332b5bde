/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Proposals on the wire and their selection (proposal.c): ours from the
 * configuration, the choice among the peer's.  Needs nothing of the
 * engine's state: the exchanges (exch.h) and child.c call it.
 */
#ifndef TCPIKE_PROPOSAL_H
#define TCPIKE_PROPOSAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "msg.h"
#include "payload.h"

/*
 * What becomes of RFC 9370's Additional Key Exchange types (6..12) in the
 * peer's IKE proposals: NEGOTIATE chooses one per type (IKE_SA_INIT with
 * IKE_INTERMEDIATE negotiated); SKIP takes them for unknown types and skips
 * the proposal (§2.2.1: IKE_SA_INIT without IKE_INTERMEDIATE); NONE
 * accepts NONE only.  IKE SA rekeys and ESP proposals of CREATE_CHILD_SA
 * negotiate (their exchanges run in IKE_FOLLOWUP_KE, §2.2.4).
 */
enum prop_addke { PROP_ADDKE_NEGOTIATE, PROP_ADDKE_SKIP, PROP_ADDKE_NONE };

/* Our proposals as an SA payload (spi: 0-length for IKE_SA_INIT); addke:
 * with their ADDKE transforms (IKE_SA_INIT, IKE SA rekeys; ESP ones always
 * but in IKE_AUTH). */
void prop_put_ike(struct ike_builder *bld, const struct conn_cfg *cc,
		  const uint8_t *spi, uint8_t spi_len, uint16_t first_ke, bool addke);
/* no_ke: leave the KE transforms out (IKE_AUTH, RFC 7296 §1.2). */
void prop_put_esp(struct ike_builder *bld, const struct child_cfg *ch,
		  uint32_t spi, uint16_t pfs_ke, bool no_ke);
/* Select from a received SA payload: the first of the peer's proposals we
 * accept.  out gets the suite, *num its number (for the reply), spi the
 * peer's SPI.  -ENOENT when nothing matches. */
int prop_select_ike(const struct conn_cfg *cc, const struct ike_sa_pl *sa,
		    enum prop_addke addke, struct ike_suite *out, int *idx);
/* no_ke (ESP, IKE_AUTH): KE transforms neither required nor chosen. */
int prop_select_esp(const struct child_cfg *ch, const struct ike_sa_pl *sa,
		    bool no_ke, struct ike_suite *out, int *idx);
/* The reply: the chosen proposal with our SPI. */
void prop_put_chosen(struct ike_builder *bld, const struct ike_proposal *p,
		     const struct ike_suite *s, const uint8_t *spi,
		     uint8_t spi_len);
/* Initiator: is the responder's one-proposal answer among ours? */
int prop_check_reply_ike(const struct conn_cfg *cc, const struct ike_sa_pl *sa,
			 enum prop_addke addke, struct ike_suite *out);
int prop_check_reply_esp(const struct child_cfg *ch, const struct ike_sa_pl *sa,
			 bool no_ke, struct ike_suite *out);
/* Does any configured IKE proposal allow this KE group? */
bool prop_ke_allowed(const struct conn_cfg *cc, uint16_t group);
int suite_str(const struct ike_suite *s, char *out, size_t len);

#endif
