// SPDX-License-Identifier: GPL-2.0
/*
 * bench_now: the cost of cw_clock__now() against clock_gettime(
 * CLOCK_REALTIME) in the same run, on a file-backed page that a writer
 * thread refreshes as the module does (1,000 times a second); then torn
 * reads under a writer at 10,000 updates a second.
 *
 *   bench_now [-b BATCHES] [-n CALLS] [-t TORN_READS]
 *
 * Cost: BATCHES rounds, each timing CALLS calls of clock_gettime(), of
 * now(), of now() with bracketed reads and of now() without the module
 * (CW_CLOCK_ADJTIMEX: one adjtimex() call each), interleaved so that
 * frequency changes hit all alike; the median of the per-call averages
 * is printed.  The 1.5x target is for the page's now() only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clockwatch.h"
#include "page_writer.h"
#include "sync_writer.h"
#include "torn.h"

static long batches = 51;
static long calls = 200000;
static long long torn_reads = 100000000LL;

static volatile long long sink;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double time_gettime(void)
{
	long long t0 = clock_ns(CLOCK_MONOTONIC);
	struct timespec ts;
	long i;

	for (i = 0; i < calls; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		sink += ts.tv_nsec;
	}
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / calls;
}

static struct cw_now first_bad;

static double time_now(struct cw_clock *clock, int *bad)
{
	long long t0 = clock_ns(CLOCK_MONOTONIC);
	struct cw_now n;
	long i;

	for (i = 0; i < calls; i++) {
		cw_clock__now(clock, &n);
		/* The writer thread may lag: free running is fine too. */
		if (n.status != CW_STATUS_SYNCHRONIZED &&
		    n.status != CW_STATUS_FREE_RUNNING && !(*bad)++)
			first_bad = n;
		sink += n.earliest_ns;
	}
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / calls;
}

/* now() without the module: whatever this machine's state, no check. */
static double time_now_adjtimex(struct cw_clock *clock)
{
	long long t0 = clock_ns(CLOCK_MONOTONIC);
	struct cw_now n;
	long i;

	for (i = 0; i < calls; i++) {
		cw_clock__now(clock, &n);
		sink += n.real_ns;
	}
	return (double)(clock_ns(CLOCK_MONOTONIC) - t0) / calls;
}

static int bench_cost(struct page_file *pf)
{
	struct cw_clock_opts kopts = { .sz = sizeof(kopts), .flags = CW_CLOCK_ADJTIMEX };
	struct cw_clock_opts opts = { .sz = sizeof(opts), .flags = CW_CLOCK_BRACKETED };
	struct rate_writer w = { .page = pf->page, .rate_hz = 1000 };
	double *g = calloc(batches, sizeof(*g));
	double *n = calloc(batches, sizeof(*n));
	double *b = calloc(batches, sizeof(*b));
	double *k = calloc(batches, sizeof(*k));
	struct cw_clock *fast, *bracketed, *kernel;
	double mg, mn, mb, mk;
	int bad = 0;
	long i;

	fast = cw_clock__open(pf->path, NULL);
	bracketed = cw_clock__open(pf->path, &opts);
	kernel = cw_clock__open(NULL, &kopts);
	if (!g || !n || !b || !k || !fast || !bracketed || !kernel ||
	    rate_writer_start(&w)) {
		fprintf(stderr, "bench_now: setup failed\n");
		return 1;
	}
	for (i = 0; i < batches; i++) {
		g[i] = time_gettime();
		n[i] = time_now(fast, &bad);
		b[i] = time_now(bracketed, &bad);
		k[i] = time_now_adjtimex(kernel);
	}
	rate_writer_stop(&w, 0);
	mg = median(g, batches);
	mn = median(n, batches);
	mb = median(b, batches);
	mk = median(k, batches);
	printf("cost, median of %ld batches of %ld calls, page refreshed 1000/s:\n",
	       batches, calls);
	printf("  clock_gettime(CLOCK_REALTIME)     %7.1f ns/call\n", mg);
	printf("  cw_clock__now()                   %7.1f ns/call   %.2fx clock_gettime\n",
	       mn, mn / mg);
	printf("  cw_clock__now(), bracketed reads  %7.1f ns/call   %.2fx clock_gettime\n",
	       mb, mb / mg);
	printf("  cw_clock__now(), adjtimex()       %7.1f ns/call   %.2fx clock_gettime\n",
	       mk, mk / mg);
	printf("  target: now() <= 1.5x clock_gettime: %s\n",
	       mn <= 1.5 * mg ? "met" : "NOT MET");
	cw_clock__close(fast);
	cw_clock__close(bracketed);
	cw_clock__close(kernel);
	free(k);
	free(g);
	free(n);
	free(b);
	if (bad)
		fprintf(stderr, "bench_now: %d now() calls had no bound, the first %s: %s\n",
			bad, cw_status_str(first_bad.status),
			cw_reason_str(first_bad.reason));
	return bad || mn > 1.5 * mg;
}

static int bench_torn(struct page_file *pf)
{
	struct rate_writer w = { .page = pf->page, .rate_hz = 10000 };
	unsigned long long torn = 0, seen = 0, last = ~0ULL, failed = 0;
	long long t0, elapsed, i;
	struct cw_facts f;
	double rate;

	if (rate_writer_start(&w))
		return 1;
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < torn_reads; i++) {
		if (cw_facts_read(pf->page, CW_READ_PAGE_TIME, 0, &f)) {
			failed++;
			continue;
		}
		torn += facts_torn(&f);
		seen += f.step_seq != last;
		last = f.step_seq;
	}
	elapsed = clock_ns(CLOCK_MONOTONIC) - t0;
	rate = rate_writer_stop(&w, elapsed);
	printf("torn reads, writer at %.0f updates/s:\n", rate);
	printf("  %lld reads in %.1f s (%.1f ns/read), %llu distinct updates seen\n",
	       torn_reads, elapsed / 1e9, (double)elapsed / torn_reads, seen);
	printf("  torn: %llu   failed (-EAGAIN/-EPROTO): %llu\n", torn, failed);
	return torn || failed;
}

int main(int argc, char **argv)
{
	struct page_file pf;
	int opt, err;

	while ((opt = getopt(argc, argv, "b:n:t:")) != -1) {
		switch (opt) {
		case 'b':
			batches = atol(optarg);
			break;
		case 'n':
			calls = atol(optarg);
			break;
		case 't':
			torn_reads = atoll(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_now [-b BATCHES] [-n CALLS] [-t TORN_READS]\n");
			return 2;
		}
	}
	if (batches < 1 || calls < 1 || torn_reads < 0) {
		fprintf(stderr, "bench_now: counts must be positive\n");
		return 2;
	}
	err = page_file_create(&pf);
	if (err) {
		fprintf(stderr, "bench_now: page file: %s\n", strerror(-err));
		return 1;
	}
	err = bench_cost(&pf);
	if (torn_reads)
		err |= bench_torn(&pf);
	page_file_destroy(&pf);
	return err;
}
