/*
 * test_ticket.c — consistent-sampling tickets and draws (issue 5).
 *
 * The known values come from the docstrings of Rivest's `consistent_sampler`
 * package.  The large cross-check runs tests/ticket_crosscheck.py, an
 * independent Python statement of the same definitions, on the same ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ss_error.h"
#include "ticket.h"
#include "uscc.h"

#define CROSSCHECK_IDS 10000
#define AGREE_IDS 10000

static const char abc_uniform[] =
    "0.56998071861792858926477341561059638840106636224182943832566300809078486324348";
static const char ab130_ticket[] =
    "0.26299714122838008416507544297546663599715395525154425586041245287750224561854";

/* The 31 characters of GB 32100 codes. */
static const char uscc_alphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/*
 * Writes the i-th test id: a well-formed 18-character credit code.  Positions
 * 9-17 are (i * 7919 + 104729) mod 31^9 in base 31, a bijection, so ids are
 * distinct for every i below 31^9.
 */
static void credit_code(size_t i, char out[SS_USCC_LEN + 1])
{
	static const char *const divisions[] = {"110101", "310115", "440305", "330106", "510107"};
	uint64_t v = ((uint64_t)i * 7919 + 104729) % 26439622160671ULL; /* 31^9 */
	int p;

	memcpy(out, "91", 2);
	memcpy(out + 2, divisions[i % 5], 6);
	for (p = 16; p >= 8; p--) {
		out[p] = uscc_alphabet[v % 31];
		v /= 31;
	}
	out[17] = ss_uscc_check_char(out);
	out[18] = '\0';
}

/* n credit-code ids in one allocation: ids[i] points into the same block. Free with free(). */
static const char **credit_codes(size_t n)
{
	char **ids = malloc(n * (sizeof(char *) + SS_USCC_LEN + 1));
	char *text = (char *)(ids + n);
	size_t i;

	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		ids[i] = text + i * (SS_USCC_LEN + 1);
		credit_code(i, ids[i]);
	}
	return (const char **)ids;
}

static void digest_from_hex(const char *hex, unsigned char digest[32])
{
	assert_int_equal(sodium_hex2bin(digest, 32, hex, strlen(hex), NULL, NULL, NULL), 0);
}

static void sha256_hex_is_lowercase_hex(void **state)
{
	char hex[65];

	ss_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sha256_uniform_of_abc_is_the_reference_value(void **state)
{
	char out[SS_TICKET_MAX];

	assert_int_equal(ss_sha256_uniform("abc", 3, out), 0);
	assert_string_equal(out, abc_uniform);
}

static void ticket_of_ab130_is_the_reference_value(void **state)
{
	char out[SS_TICKET_MAX];

	assert_int_equal(ss_ticket("01382438112797316654", "AB-130", out), 0);
	assert_string_equal(out, ab130_ticket);
}

/* make_ticket_heap's docstring example in the package. */
static void tickets_match_the_package_heap_example(void **state)
{
	static const char *const expect[][2] = {
	    {"dog",
	     "0.33886035615681875183111698317327684455682722683976874746986356932751818935066"},
	    {"cat",
	     "0.24866413894129579898796850445568128508290132707747976039848637531569373309555"},
	    {"fish",
	     "0.74685932088827950509145941729789143204056041958068799542050396198792954500593"},
	    {"goat",
	     "0.49599842072022713663423753308080171636735689997237236247068925068573448764387"},
	};
	char out[SS_TICKET_MAX];
	size_t i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(ss_ticket("xy()134!g2n", expect[i][0], out), 0);
		assert_string_equal(out, expect[i][1]);
	}
}

/* sampler()'s docstring example: seed 314159 draws cd-1, ef-3, ab-1, ab-2. */
static void draw_order_matches_the_package_sampler_example(void **state)
{
	static const char *const ids[] = {"ab-1", "ab-2", "cd-1", "ef-3"};
	static const char *const order[] = {"cd-1", "ef-3", "ab-1", "ab-2"};
	static const char *const shown[] = {"0.317685817", "0.832984519", "0.9098039269",
					    "0.9231549043"};
	struct ss_ticketed sel[4];
	size_t i;

	assert_int_equal(ss_ticket_select("314159", ids, 4, 4, sel), 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(sel[i].id, order[i]);
		/* The package prints tickets cut to 9 digits after the leading 9s. */
		assert_memory_equal(sel[i].ticket, shown[i], strlen(shown[i]));
	}
}

/*
 * "{:064d}" pads on the left before the digits are reversed, so the padding
 * becomes trailing zeros.  No real hash is below 10^63, hence these numbers.
 */
static void padding_zeros_come_after_the_reversed_digits(void **state)
{
	static const char *const cases[][2] = {
	    {"0000000000000000000000000000000000000000000000000000000000000000",
	     "0.0000000000000000000000000000000000000000000000000000000000000000"},
	    {"0000000000000000000000000000000000000000000000000000000000000001",
	     "0.1000000000000000000000000000000000000000000000000000000000000000"},
	    {"000000000000000000000000000000000000000000000000000000000000000a",
	     "0.0100000000000000000000000000000000000000000000000000000000000000"},
	    {"0000000000000000000000000000000000000000000000000000000000003039", /* 12345 */
	     "0.5432100000000000000000000000000000000000000000000000000000000000"},
	    /* 10^63 - 1: 63 nines, padded to 64 digits with one zero. */
	    {"000000000026e4d30eccc3215dd8f3157d27e23acbdcfe67fffffffffffffff",
	     "0.9999999999999999999999999999999999999999999999999999999999999990"},
	    /* 10^63: exactly 64 digits, no padding. */
	    {"000000000026e4d30eccc3215dd8f3157d27e23acbdcfe68000000000000000",
	     "0.0000000000000000000000000000000000000000000000000000000000000001"},
	    /* 10^64: 65 digits. */
	    {"00000000184f03e93ff9f4daa797ed6e38ed64bf6a1f010000000000000000",
	     "0.00000000000000000000000000000000000000000000000000000000000000001"},
	    /* 2^256 - 1: the longest ticket, 78 digits. */
	    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	     "0.539936921319700485754930465046566489962358709786800589075324591613732980297511"},
	};
	unsigned char digest[32];
	char hex[65], out[SS_TICKET_MAX];
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Left-pad the hex to 64 digits. */
		len = strlen(cases[i][0]);
		memset(hex, '0', 64 - len);
		memcpy(hex + 64 - len, cases[i][0], len + 1);
		digest_from_hex(hex, digest);
		assert_int_equal(ss_uniform_from_digest(digest, out), 0);
		assert_string_equal(out, cases[i][1]);
	}
}

static struct ss_ticketed ticketed(const char *ticket, const char *id)
{
	struct ss_ticketed t;

	t.id = id;
	snprintf(t.ticket, sizeof(t.ticket), "%s", ticket);
	return t;
}

static void equal_tickets_are_ordered_by_id(void **state)
{
	struct ss_ticketed a = ticketed(ab130_ticket, "AB-130");
	struct ss_ticketed b = ticketed(ab130_ticket, "AB-131");
	struct ss_ticketed c = ticketed(ab130_ticket, "AB-130");

	assert_true(ss_ticketed_cmp(&a, &b) < 0);
	assert_true(ss_ticketed_cmp(&b, &a) > 0);
	assert_int_equal(ss_ticketed_cmp(&a, &c), 0);
}

static void ticket_decides_before_id(void **state)
{
	struct ss_ticketed a = ticketed("0.25", "Z");
	struct ss_ticketed b = ticketed("0.26", "A");
	/* As strings, a ticket that is a prefix of another sorts first. */
	struct ss_ticketed c = ticketed("0.250", "A");

	assert_true(ss_ticketed_cmp(&a, &b) < 0);
	assert_true(ss_ticketed_cmp(&a, &c) < 0);
	assert_true(ss_ticketed_cmp(&c, &b) < 0);
}

/* Python orders str by code point; on UTF-8, strcmp's unsigned bytes agree. */
static void ids_compare_by_code_point(void **state)
{
	struct ss_ticketed ascii = ticketed("0.5", "zzz");
	struct ss_ticketed han = ticketed("0.5", "\xe9\xa1\xb9\xe7\x9b\xae"); /* 项目 */

	assert_true(ss_ticketed_cmp(&ascii, &han) < 0);
}

static void order_tickets_equal_one_shot_tickets_and_ascend(void **state)
{
	const char **ids = credit_codes(1000);
	struct ss_ticketed *items = calloc(1000, sizeof(*items));
	char one[SS_TICKET_MAX];
	size_t i;

	assert_non_null(items);
	for (i = 0; i < 1000; i++)
		items[i].id = ids[i];
	assert_int_equal(ss_ticket_order("01382438112797316654", items, 1000), 0);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(ss_ticket("01382438112797316654", items[i].id, one), 0);
		assert_string_equal(items[i].ticket, one);
		if (i > 0)
			assert_true(ss_ticketed_cmp(&items[i - 1], &items[i]) < 0);
	}
	free(items);
	free(ids);
}

static void select_of_zero_selects_nothing(void **state)
{
	const char *ids[] = {"a", "b", "c"};
	struct ss_ticketed sel[1];

	assert_int_equal(ss_ticket_select("seed", ids, 3, 0, NULL), 0);
	assert_int_equal(ss_ticket_select("seed", ids, 3, 0, sel), 0);
	assert_int_equal(ss_ticket_select("seed", NULL, 0, 5, NULL), 0);
}

static void select_of_more_than_n_selects_everyone_in_order(void **state)
{
	const char *ids[] = {"ab-1", "ab-2", "cd-1", "ef-3"};
	struct ss_ticketed sel[4];

	assert_int_equal(ss_ticket_select("314159", ids, 4, 1000, sel), 4);
	assert_string_equal(sel[0].id, "cd-1");
	assert_string_equal(sel[3].id, "ab-2");
}

static void select_of_n_is_the_full_order(void **state)
{
	const char **ids = credit_codes(500);
	struct ss_ticketed *sel = calloc(500, sizeof(*sel)), *all = calloc(500, sizeof(*all));
	size_t i;

	assert_non_null(sel);
	assert_non_null(all);
	for (i = 0; i < 500; i++)
		all[i].id = ids[i];
	assert_int_equal(ss_ticket_order("seed-n", all, 500), 0);
	assert_int_equal(ss_ticket_select("seed-n", ids, 500, 500, sel), 500);
	for (i = 0; i < 500; i++) {
		assert_string_equal(sel[i].id, all[i].id);
		assert_string_equal(sel[i].ticket, all[i].ticket);
	}
	free(all);
	free(sel);
	free(ids);
}

/* k < n/8 takes the bounded heap, the rest the full sort: both must equal the order's prefix. */
static void heap_and_full_sort_agree_on_10000_ids(void **state)
{
	static const size_t ks[] = {1, 2, 7, 100, 1249, 1250, 1251, 5000, 9999, 10000};
	const char **ids = credit_codes(AGREE_IDS);
	struct ss_ticketed *sel = calloc(AGREE_IDS, sizeof(*sel));
	struct ss_ticketed *all = calloc(AGREE_IDS, sizeof(*all));
	size_t i, j;

	assert_non_null(sel);
	assert_non_null(all);
	for (i = 0; i < AGREE_IDS; i++)
		all[i].id = ids[i];
	assert_int_equal(ss_ticket_order("agree", all, AGREE_IDS), 0);
	for (j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
		memset(sel, 0, AGREE_IDS * sizeof(*sel));
		assert_int_equal(ss_ticket_select("agree", ids, AGREE_IDS, ks[j], sel),
				 (long)ks[j]);
		for (i = 0; i < ks[j]; i++) {
			assert_string_equal(sel[i].id, all[i].id);
			assert_string_equal(sel[i].ticket, all[i].ticket);
		}
	}
	free(all);
	free(sel);
	free(ids);
}

static void selection_does_not_depend_on_input_order(void **state)
{
	const char **ids = credit_codes(AGREE_IDS);
	const char **rev = malloc(AGREE_IDS * sizeof(*rev));
	struct ss_ticketed a[100], b[100];
	size_t i;

	assert_non_null(rev);
	for (i = 0; i < AGREE_IDS; i++)
		rev[i] = ids[AGREE_IDS - 1 - i];
	assert_int_equal(ss_ticket_select("order", ids, AGREE_IDS, 100, a), 100);
	assert_int_equal(ss_ticket_select("order", rev, AGREE_IDS, 100, b), 100);
	for (i = 0; i < 100; i++)
		assert_string_equal(a[i].id, b[i].id);
	free(rev);
	free(ids);
}

/* Consistency: a smaller draw under the same seed is the start of a larger one. */
static void smaller_draw_is_the_start_of_a_larger_one(void **state)
{
	const char **ids = credit_codes(AGREE_IDS);
	struct ss_ticketed small[10], *large = calloc(3000, sizeof(*large));
	size_t i;

	assert_non_null(large);
	assert_int_equal(ss_ticket_select("prefix", ids, AGREE_IDS, 10, small), 10);
	assert_int_equal(ss_ticket_select("prefix", ids, AGREE_IDS, 3000, large), 3000);
	for (i = 0; i < 10; i++)
		assert_string_equal(small[i].id, large[i].id);
	free(large);
	free(ids);
}

static void null_arguments_are_refused(void **state)
{
	const char *ids[] = {"a", NULL};
	struct ss_ticketed items[2] = {{"a", ""}, {NULL, ""}};
	struct ss_ticketed sel[2];
	char out[SS_TICKET_MAX];

	assert_int_equal(ss_ticket(NULL, "a", out), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket("s", NULL, out), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sha256_uniform(NULL, 1, out), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_sha256_uniform(NULL, 0, out), 0);
	assert_int_equal(ss_uniform_from_digest(NULL, out), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_order(NULL, items, 1), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_order("s", NULL, 1), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_order("s", items, 2), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_order("s", NULL, 0), 0);
	assert_int_equal(ss_ticket_select("s", ids, 2, 1, sel), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_select("s", ids, 1, 1, NULL), SS_ERR_BAD_REQUEST);
	assert_int_equal(ss_ticket_select(NULL, ids, 1, 1, sel), SS_ERR_BAD_REQUEST);
}

/*
 * Runs tests/ticket_crosscheck.py on seed and ids (through a temporary
 * file, so neither side can block on a full pipe) and compares its lines,
 * "id<TAB>ticket" in draw order, with the C order.
 */
static void crosscheck_with_python(const char *seed, const char *const *ids, size_t n)
{
	char path[] = "/tmp/test_ticket_XXXXXX";
	char cmd[1024], expect[256];
	struct ss_ticketed *items = calloc(n, sizeof(*items));
	char *line = NULL;
	size_t cap = 0, i;
	FILE *in, *py;
	int fd, status;

	assert_non_null(items);
	for (i = 0; i < n; i++)
		items[i].id = ids[i];
	assert_int_equal(ss_ticket_order(seed, items, n), 0);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	in = fdopen(fd, "w");
	assert_non_null(in);
	fprintf(in, "%s\n", seed);
	for (i = 0; i < n; i++)
		fprintf(in, "%s\n", ids[i]);
	assert_int_equal(fclose(in), 0);

	snprintf(cmd, sizeof(cmd), "python3 '%s/tests/ticket_crosscheck.py' < '%s'",
		 SS_TEST_SOURCE_DIR, path);
	py = popen(cmd, "r");
	assert_non_null(py);
	for (i = 0; i < n; i++) {
		assert_true(getline(&line, &cap, py) > 0);
		snprintf(expect, sizeof(expect), "%s\t%s\n", items[i].id, items[i].ticket);
		assert_string_equal(line, expect);
	}
	assert_int_equal(getline(&line, &cap, py), -1); /* nothing more */
	status = pclose(py);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
	free(line);
	free(items);
}

static void order_matches_independent_python_on_10000_credit_codes(void **state)
{
	/* Some non-ASCII directory ids too: both sides must hash UTF-8 and compare code points. */
	static const char *const extra[] = {
	    "\xe9\xa1\xb9\xe7\x9b\xae-2024-0001", /* 项目-2024-0001 */
	    "\xe9\xa1\xb9\xe7\x9b\xae-2024-0002",
	    "\xe6\xa3\x80\xe6\x9f\xa5\xe4\xba\xba\xe5\x91\x98-042", /* 检查人员-042 */
	    "AB-130",
	};
	const char **codes = credit_codes(CROSSCHECK_IDS);
	const char **ids = malloc((CROSSCHECK_IDS + 4) * sizeof(*ids));
	char seed[65];
	size_t i;

	assert_non_null(ids);
	for (i = 0; i < CROSSCHECK_IDS; i++)
		ids[i] = codes[i];
	for (i = 0; i < 4; i++)
		ids[CROSSCHECK_IDS + i] = extra[i];
	/* A seed shaped like the draw's: 64 lowercase hex digits. */
	ss_sha256_hex("shuangsui ticket cross-check", 28, seed);
	crosscheck_with_python(seed, ids, CROSSCHECK_IDS + 4);
	/* And the package's own example seed. */
	crosscheck_with_python("01382438112797316654", ids, CROSSCHECK_IDS + 4);
	free(ids);
	free(codes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sha256_hex_is_lowercase_hex),
	    cmocka_unit_test(sha256_uniform_of_abc_is_the_reference_value),
	    cmocka_unit_test(ticket_of_ab130_is_the_reference_value),
	    cmocka_unit_test(tickets_match_the_package_heap_example),
	    cmocka_unit_test(draw_order_matches_the_package_sampler_example),
	    cmocka_unit_test(padding_zeros_come_after_the_reversed_digits),
	    cmocka_unit_test(equal_tickets_are_ordered_by_id),
	    cmocka_unit_test(ticket_decides_before_id),
	    cmocka_unit_test(ids_compare_by_code_point),
	    cmocka_unit_test(order_tickets_equal_one_shot_tickets_and_ascend),
	    cmocka_unit_test(select_of_zero_selects_nothing),
	    cmocka_unit_test(select_of_more_than_n_selects_everyone_in_order),
	    cmocka_unit_test(select_of_n_is_the_full_order),
	    cmocka_unit_test(heap_and_full_sort_agree_on_10000_ids),
	    cmocka_unit_test(selection_does_not_depend_on_input_order),
	    cmocka_unit_test(smaller_draw_is_the_start_of_a_larger_one),
	    cmocka_unit_test(null_arguments_are_refused),
	    cmocka_unit_test(order_matches_independent_python_on_10000_credit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
