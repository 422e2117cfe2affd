/*
 * record_int.h — shared between record.c, record_parse.c, draw*.c and
 * receipt*.c; not part of the public API.
 */
#ifndef SS_RECORD_INT_H
#define SS_RECORD_INT_H

#include <stdint.h>

#include "signature.h"

#define RECORD_MAGIC "shuangsui/v1"

/* 1 if s is SS_ENTROPY_MIN..SS_ENTROPY_MAX ASCII digits. */
int ss_entropy_valid(const char *s);
/* 1 if t is a well-formed ticket string "0." + 64..78 digits (ticket.h). */
int ss_ticket_string_valid(const char *t);
/* The public key string base64("Ed" || key id || pk) of a raw public key (signature.h). */
void ss_record_public_key_format(const uint8_t pk[SS_SIG_PUBLIC_KEY_LEN],
				 char out[SS_SIG_PUBLIC_KEY_STR_LEN + 1]);

#endif
