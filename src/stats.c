/* SIGUSR1: log what the daemon holds (nodes, cached fds, memory), for
 * whoever wants to know whether it releases what the kernel forgot. A
 * thread waits for the signal, so the message is written outside any
 * signal handler. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"

/* Resident and peak resident memory of this process, in KiB. */
static void memory_kib(long *rss, long *hwm)
{
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");

	*rss = *hwm = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			sscanf(line + 6, "%ld", rss);
		else if (!strncmp(line, "VmHWM:", 6))
			sscanf(line + 6, "%ld", hwm);
	}
	fclose(f);
}

static unsigned long long count(uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static const char *pt_state(struct vn_fs *fs)
{
	switch (__atomic_load_n(&fs->passthrough, __ATOMIC_RELAXED)) {
	case VN_PT_ON:
		return "on";
	case VN_PT_OFF:
		return "off (nopassthrough)";
	case VN_PT_REFUSED:
		return "off (refused by the kernel)";
	default:
		return "off (not offered by the kernel)";
	}
}

static pthread_t stats_tid;
static bool stats_running;
static bool stats_stop;

static void *stats_thread(void *arg)
{
	struct vn_fs *fs = arg;
	sigset_t set;
	size_t nodes, fds;
	long rss, hwm;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (__atomic_load_n(&stats_stop, __ATOMIC_ACQUIRE))
			break;
		memory_kib(&rss, &hwm);
		vn_table_stats(&fs->table, &nodes, &fds);
		vn_log(LOG_INFO,
		       "stats: %zu nodes, %zu fds cached (at most %zu), "
		       "rss %ld KiB, peak rss %ld KiB; passthrough %s; files "
		       "%llu open, opened %llu passthrough %llu daemon; "
		       "requests %llu read %llu write",
		       nodes, fds, fs->table.fd_max, rss, hwm,
		       pt_state(fs), count(&fs->counts.open_now),
		       count(&fs->counts.open_passthrough),
		       count(&fs->counts.open_cached), count(&fs->counts.read),
		       count(&fs->counts.write));
	}
	return NULL;
}

int vn_stats_start(struct vn_fs *fs)
{
	sigset_t set;
	int err;

	/* Blocked here, before the worker threads exist: they inherit the
	 * mask, so only the stats thread takes the signal. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	err = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (err)
		return -err;
	err = pthread_create(&stats_tid, NULL, stats_thread, fs);
	if (err)
		return -err;
	/* Named, so that it is not taken for a worker (ps -L, cli.bats). */
	pthread_setname_np(stats_tid, "vn-stats");
	stats_running = true;
	return 0;
}

void vn_stats_stop(void)
{
	if (!stats_running)
		return;
	__atomic_store_n(&stats_stop, true, __ATOMIC_RELEASE);
	pthread_kill(stats_tid, SIGUSR1);
	pthread_join(stats_tid, NULL);
	stats_running = false;
}
