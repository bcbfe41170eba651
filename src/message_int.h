/*
 * message_int.h - private to the message parsers: message.c (JSON bodies,
 * serial lines, stored bodies), message_binary.c (binary windows),
 * message_cbor.c (CBOR to a cJSON tree) and message_senml.c (SenML).
 */
#ifndef TE_MESSAGE_INT_H
#define TE_MESSAGE_INT_H

#define MESSAGE_BIN_HEADER	20
#define MESSAGE_BIN_MAGIC	"TW"	/* first two bytes of a binary window */

int	message_fail(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
size_t	message_utf8_len(const unsigned char *, size_t);
struct cJSON *message_json_decode(const void *, size_t, char **);
struct cJSON *message_cbor_decode(const void *, size_t, int, char **);
int	message_senml_resolve(const char *, const struct cJSON *, int64_t,
	    struct message **, char **);

#endif
