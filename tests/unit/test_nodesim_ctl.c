/*
 * test_nodesim_ctl.c - unit tests of what tinyedge-nodesim reads from a
 * node's settings document (tools/nodesim_ctl.c): good documents with
 * their defaults, a table of malformed ones that must be refused whole
 * (leaving the applied settings alone), the send_window / min_score
 * decision at and around its thresholds, and model identity.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "nodesim_ctl.h"
#include "testutil.h"

#define SHA	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define MODEL	"\"model\":{\"name\":\"kws\",\"version\":\"3\",\"sha256\":\"" \
		SHA "\",\"size\":102400,\"uri\":\"/v1/models/kws?v=3\"}"

/* Parse text, which must be accepted. */
static struct sim_doc
good(const char *text)
{
	struct sim_doc	d;
	char		*cause = NULL;

	if (nodesim_ctl_parse(text, strlen(text), &d, &cause) != 0)
		ck_abort_msg("%s refused: %s", text, cause);
	return (d);
}

START_TEST(test_good)
{
	struct sim_doc	d;

	d = good("{\"rev\":7}");
	ck_assert_uint_eq(d.rev, 7);
	ck_assert_int_eq(d.send_window, SIM_WINDOW_UNSET);
	ck_assert_double_eq(d.unsure_below, SIM_CTL_UNSURE_DEFAULT);
	ck_assert_double_eq(d.min_score, 0);
	ck_assert_int_eq(d.model.present, 0);
	d = good("{\"rev\":4294967295,\"send_window\":\"unsure\","
	    "\"unsure_below\":0.5,\"min_score\":0.8,\"wake\":\"10s\","
	    "\"other\":[1,2]," MODEL "}");
	ck_assert_uint_eq(d.rev, 4294967295u);
	ck_assert_int_eq(d.send_window, SIM_WINDOW_UNSURE);
	ck_assert_double_eq(d.unsure_below, 0.5);
	ck_assert_double_eq(d.min_score, 0.8);
	ck_assert_int_eq(d.model.present, 1);
	ck_assert_str_eq(d.model.name, "kws");
	ck_assert_str_eq(d.model.version, "3");
	ck_assert_str_eq(d.model.sha256, SHA);
	ck_assert_uint_eq(d.model.size, 102400);
	ck_assert_str_eq(d.model.uri, "/v1/models/kws?v=3");
	d = good("{\"rev\":1,\"send_window\":\"never\",\"model\":null}");
	ck_assert_int_eq(d.send_window, SIM_WINDOW_NEVER);
	ck_assert_int_eq(d.model.present, 0);
	/* Upper-case hex is the same digest. */
	d = good("{\"rev\":1,\"send_window\":\"always\",\"model\":{\"name\":"
	    "\"a\",\"version\":\"b\",\"sha256\":\"9F86D081884C7D659A2FEAA0C55AD"
	    "015A3BF4F1B2B0B822CD15D6C15B0F00A08\",\"size\":1,\"uri\":\"/m\"}}");
	ck_assert_int_eq(d.send_window, SIM_WINDOW_ALWAYS);
	ck_assert_str_eq(d.model.sha256, SHA);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *const bad[] = {
		"", "{", "null", "[]", "\"rev\"", "7", "{}",
		"{\"rev\":-1}", "{\"rev\":1.5}", "{\"rev\":4294967296}",
		"{\"rev\":\"1\"}", "{\"rev\":null}", "{\"rev\":1e300}",
		"{\"rev\":1,\"send_window\":\"sometimes\"}",
		"{\"rev\":1,\"send_window\":1}",
		"{\"rev\":1,\"send_window\":\"\"}",
		"{\"rev\":1,\"send_window\":\"NEVER\"}",
		"{\"rev\":1,\"unsure_below\":1.5}",
		"{\"rev\":1,\"unsure_below\":-0.1}",
		"{\"rev\":1,\"unsure_below\":\"0.5\"}",
		"{\"rev\":1,\"min_score\":2}",
		"{\"rev\":1,\"min_score\":true}",
		"{\"rev\":1,\"model\":\"kws@3\"}",
		"{\"rev\":1,\"model\":{}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"k/s\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3 \","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"abc\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "0\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"zf86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b8"
		    "22cd15d6c15b0f00a08\",\"size\":1,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":0,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1.5,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":\"1\",\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":4194305,\"uri\":\"/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/v1//m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/v1/m/\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/m%20\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"coap://x/m\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1,\"uri\":\"/\"}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":\"3\","
		    "\"sha256\":\"" SHA "\",\"size\":1}}",
		"{\"rev\":1,\"model\":{\"name\":\"kws\",\"version\":"
		    "\"123456789012345678901234567890123\",\"sha256\":\"" SHA
		    "\",\"size\":1,\"uri\":\"/m\"}}",
	};
	struct sim_doc	 d;
	char		*cause;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&d, 0x5a, sizeof d);
		cause = NULL;
		ck_assert_msg(nodesim_ctl_parse(bad[i], strlen(bad[i]), &d,
		    &cause) == -1, "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		/* Refused whole: what the node runs is left as it was. */
		ck_assert_uint_eq(d.rev, 0x5a5a5a5a);
	}
	/* Length is honoured: a valid prefix is not read past. */
	ck_assert_int_eq(nodesim_ctl_parse("{\"rev\":1}xyz", 5, &d, NULL), -1);
}
END_TEST

/* One decision case: settings, score, and what goes. */
struct decide_case {
	enum sim_window	 w;
	double		 unsure_below, min_score, score;
	int		 inference, window;
};

START_TEST(test_decide)
{
	static const struct decide_case cases[] = {
		{ SIM_WINDOW_UNSET, 0.6, 0, 0.1, 1, 0 },
		{ SIM_WINDOW_UNSET, 0.6, 0.5, 0.49, 0, 0 },
		{ SIM_WINDOW_NEVER, 0.6, 0, 0.1, 1, 0 },
		{ SIM_WINDOW_ALWAYS, 0.6, 0, 0.99, 1, 1 },
		{ SIM_WINDOW_ALWAYS, 0.6, 0.8, 0.7, 0, 1 },
		{ SIM_WINDOW_UNSURE, 0.6, 0, 0.59, 1, 1 },
		{ SIM_WINDOW_UNSURE, 0.6, 0, 0.6, 1, 0 },
		{ SIM_WINDOW_UNSURE, 0.6, 0.5, 0.5, 1, 1 },
		{ SIM_WINDOW_UNSURE, 0.6, 0.5, 0.4999, 0, 1 },
		{ SIM_WINDOW_UNSURE, 0.6, 0.8, 0.7, 0, 0 },
		{ SIM_WINDOW_UNSURE, 0.6, 0.8, 0.8, 1, 0 },
		{ SIM_WINDOW_UNSURE, 0, 0, 0, 1, 0 },
		{ SIM_WINDOW_UNSURE, 1, 1, 0.9999, 0, 1 },
	};
	struct sim_doc	d;
	size_t		i;
	int		inf, win;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&d, 0, sizeof d);
		d.send_window = cases[i].w;
		d.unsure_below = cases[i].unsure_below;
		d.min_score = cases[i].min_score;
		nodesim_ctl_decide(&d, cases[i].score, &inf, &win);
		ck_assert_msg(inf == cases[i].inference &&
		    win == cases[i].window, "case %zu: %d %d", i, inf, win);
	}
}
END_TEST

START_TEST(test_same_model)
{
	struct sim_doc	a, b;

	a = good("{\"rev\":1," MODEL "}");
	b = a;
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 1);
	b.model.version[0] = '4';
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 0);
	b = a;
	b.model.sha256[0] = '0';
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 0);
	b = a;
	b.model.size++;
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 0);
	b = good("{\"rev\":2}");
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 0);
	a = good("{\"rev\":3}");
	ck_assert_int_eq(nodesim_ctl_same_model(&a.model, &b.model), 1);
}
END_TEST

/* Run the suite. */
int
main(void)
{
	struct testutil_case	 cases[] = {
		{ test_good, 0 },
		{ test_malformed, 0 },
		{ test_decide, 0 },
		{ test_same_model, 0 },
	};

	return (testutil_run("nodesim_ctl", 30, cases,
	    sizeof cases / sizeof cases[0]));
}
