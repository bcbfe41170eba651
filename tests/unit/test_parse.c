/*
 * test_parse.c - unit tests of the value parsers (durations, sizes, ints,
 * decimals, booleans, addresses, ids, lists), each with a table of good
 * values and of malformed ones that must give an error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "testutil.h"

/* A duration case: text and expected ms, or bad = 1. */
struct dur_case {
	const char	*in;
	uint64_t	 ms;
	int		 bad;
};

START_TEST(test_duration)
{
	static const struct dur_case cases[] = {
		{ "0", 0, 0 }, { "250ms", 250, 0 }, { "30s", 30000, 0 },
		{ "5m", 300000, 0 }, { "2h", 7200000, 0 },
		{ "7d", 604800000ULL, 0 }, { "10", 10000, 0 },
		{ " 3s", 3000, 0 },
		{ "", 0, 1 }, { "s", 0, 1 }, { "-5s", 0, 1 }, { "5x", 0, 1 },
		{ "5 s", 0, 1 }, { "1.5s", 0, 1 }, { "5sec", 0, 1 },
		{ "99999999999999999999d", 0, 1 },
		{ "9999999999999999d", 0, 1 },
	};
	size_t		i;
	uint64_t	ms;
	char		*cause;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		ms = 12345;
		if (cases[i].bad) {
			ck_assert_msg(parse_duration_ms(cases[i].in, &ms,
			    &cause) == -1, "\"%s\" accepted", cases[i].in);
			ck_assert_ptr_nonnull(cause);
			free(cause);
		} else {
			ck_assert_msg(parse_duration_ms(cases[i].in, &ms,
			    &cause) == 0, "\"%s\" rejected", cases[i].in);
			ck_assert_uint_eq(ms, cases[i].ms);
		}
	}
}
END_TEST

START_TEST(test_size)
{
	static const struct dur_case cases[] = {
		{ "0", 0, 0 }, { "512", 512, 0 }, { "64K", 65536, 0 },
		{ "64k", 65536, 0 }, { "64M", 67108864, 0 },
		{ "1G", 1073741824ULL, 0 },
		{ "", 0, 1 }, { "K", 0, 1 }, { "1T", 0, 1 }, { "-1", 0, 1 },
		{ "1.5M", 0, 1 }, { "18446744073709551615G", 0, 1 },
	};
	size_t		i;
	uint64_t	v;
	char		*cause;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		if (cases[i].bad) {
			ck_assert_msg(parse_size(cases[i].in, &v, &cause) == -1,
			    "\"%s\" accepted", cases[i].in);
			free(cause);
		} else {
			ck_assert_msg(parse_size(cases[i].in, &v, &cause) == 0,
			    "\"%s\" rejected", cases[i].in);
			ck_assert_uint_eq(v, cases[i].ms);
		}
	}
}
END_TEST

START_TEST(test_int_double_bool)
{
	int64_t	 i;
	double	 d;
	int	 b;
	char	*cause = NULL;

	ck_assert_int_eq(parse_int("42", &i, &cause), 0);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(parse_int("-7", &i, &cause), 0);
	ck_assert_int_eq(i, -7);
	ck_assert_int_eq(parse_int("4x", &i, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_int("", &i, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_int("99999999999999999999", &i, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_double("0.8", &d, &cause), 0);
	ck_assert_double_eq_tol(d, 0.8, 1e-12);
	ck_assert_int_eq(parse_double("nan", &d, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_double("0.8x", &d, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_bool("Yes", &b, &cause), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(parse_bool("off", &b, &cause), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(parse_bool("maybe", &b, &cause), -1);
	free(cause);
}
END_TEST

START_TEST(test_hostport)
{
	static const char *good[] = {
		"0.0.0.0:5683", "127.0.0.1:1", "[::]:5683", "[::1]:65535",
	};
	static const char *bad[] = {
		"", "5683", "0.0.0.0", "0.0.0.0:", "0.0.0.0:0",
		"0.0.0.0:65536", "localhost:5683", "[::]5683", "[::1:5683",
		"1.2.3:80", ":80", "[]:80", "0.0.0.0:80x", "[zz]:80",
	};
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		ck_assert_msg(parse_hostport(good[i], &ss, &cause) == 0,
		    "\"%s\" rejected", good[i]);
	}
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 65535);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(parse_hostport(bad[i], &ss, &cause) == -1,
		    "\"%s\" accepted", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}
}
END_TEST

START_TEST(test_id_and_list)
{
	char	 long_id[80], **l, *cause = NULL;
	size_t	 n;

	ck_assert_int_eq(parse_id("gw-01_x", 64, "_-", &cause), 0);
	ck_assert_int_eq(parse_id("gw.01", 64, "_-", &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(parse_id("", 64, "_-", &cause), -1);
	free(cause);
	cause = NULL;
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	ck_assert_int_eq(parse_id(long_id, 64, "_-", &cause), -1);
	free(cause);
	long_id[64] = '\0';
	ck_assert_int_eq(parse_id(long_id, 64, "_-", &cause), 0);

	l = parse_list(" a, b ,,c ,", &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(l[0], "a");
	ck_assert_str_eq(l[1], "b");
	ck_assert_str_eq(l[2], "c");
	parse_list_free(l, n);
	l = parse_list("", &n);
	ck_assert_uint_eq(n, 0);
	parse_list_free(l, n);
}
END_TEST

START_TEST(test_hex)
{
	static const char *bad[] = { "", "a", "abc", "zz", "0g", "12 4" };
	uint8_t	out[4];
	size_t	i, n = 0;

	ck_assert_int_eq(parse_hex("00fFa5", out, sizeof out, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(out[0], 0x00);
	ck_assert_uint_eq(out[1], 0xff);
	ck_assert_uint_eq(out[2], 0xa5);
	ck_assert_int_eq(parse_hex("0102030405", out, sizeof out, &n), -1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(parse_hex(bad[i], out, sizeof out, &n) == -1,
		    "\"%s\" accepted", bad[i]);
	/* A NUL inside the length is never part of an id. */
	ck_assert_int_eq(parse_id_valid("a\0b", 3, 64, "_.-"), 0);
	ck_assert_int_eq(parse_id_valid("a.b", 3, 64, "_.-"), 1);
	ck_assert_int_eq(parse_id_valid("a.b", 3, 64, "_-"), 0);
}
END_TEST

START_TEST(test_format_duration)
{
	static const struct { uint64_t ms; const char *s; } cases[] = {
		{ 0, "0s" }, { 250, "250ms" }, { 30000, "30s" },
		{ 300000, "5m" }, { 7200000, "2h" }, { 604800000ULL, "7d" },
		{ 1500, "1500ms" },
	};
	size_t	i;
	char	*s;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = parse_format_duration(cases[i].ms);
		ck_assert_str_eq(s, cases[i].s);
		free(s);
	}
}
END_TEST

/* Run the suite; the exit status tells whether all passed. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_duration, 0 },
		{ test_size, 0 },
		{ test_int_double_bool, 0 },
		{ test_hostport, 0 },
		{ test_id_and_list, 0 },
		{ test_hex, 0 },
		{ test_format_duration, 0 },
	};

	return (testutil_run("parse", 0, cases,
	    sizeof cases / sizeof cases[0]));
}
