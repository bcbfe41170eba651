/*
 * message_int.h - private to the message parsers: message.c (JSON bodies,
 * serial lines, stored bodies) and message_binary.c (binary windows).
 */
#ifndef TE_MESSAGE_INT_H
#define TE_MESSAGE_INT_H

#define MESSAGE_BIN_HEADER	20
#define MESSAGE_BIN_MAGIC	"TW"	/* first two bytes of a binary window */

int	message_fail(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
