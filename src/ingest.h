/*
 * ingest.h - what every ingest backend (ingest_coap.c, ingest_serial.c)
 * does the same way once a message has been validated.
 */
#ifndef TE_INGEST_H
#define TE_INGEST_H

struct message;
struct store_msg;

/* May a message of this node be taken in from this source? */
enum ingest_admit {
	INGEST_ADMIT_OK = 0,
	INGEST_ADMIT_RATE,	/* the source adds new node ids too fast (4.29) */
	INGEST_ADMIT_FULL,	/* the registry is full of online nodes (5.03) */
};

void	ingest_store_msg(const struct message *, struct store_msg *);
void	ingest_seen(const struct message *);
enum ingest_admit ingest_admit(const char *, const char *, int);

#endif
