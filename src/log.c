#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define FUSE_USE_VERSION 312
#include <fuse_log.h>

#include "log.h"

static int use_syslog;
static int debug_on;
static const char *tag_mnt = "";

/* One formatted message, without its trailing newlines, to its place. */
static void emit(int level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (level == LOG_DEBUG && !debug_on)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (n == 0)
		return;
	if (use_syslog)
		syslog(level, "%s: %s", tag_mnt, msg);
	else
		fprintf(stderr, "veneerfs: %s\n", msg);
}

/* libfuse's own messages (a failed read of /dev/fuse, say) would go to
 * stderr, which is /dev/null once daemonized: they take our way too. Its
 * levels are syslog's. */
static void fuse_to_syslog(enum fuse_log_level level, const char *fmt,
			   va_list ap)
{
	emit((int)level, fmt, ap);
}

/* While capturing, libfuse's last message is kept, not printed. */
static char captured[256];

static void fuse_to_buffer(enum fuse_log_level level, const char *fmt,
			   va_list ap)
{
	char msg[sizeof(captured)];
	const char *m = msg;
	size_t n;

	if (level > FUSE_LOG_WARNING)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (strncmp(m, "fuse: ", 6) == 0)
		m += 6;
	if (*m)
		snprintf(captured, sizeof(captured), "%s", m);
}

void vn_log_capture(int on)
{
	captured[0] = '\0';
	if (on)
		fuse_set_log_func(fuse_to_buffer);
	else
		fuse_set_log_func(use_syslog ? fuse_to_syslog : NULL);
}

const char *vn_log_captured(const char *fallback)
{
	return captured[0] ? captured : fallback;
}

void vn_log_to_syslog(const char *mountpoint)
{
	tag_mnt = mountpoint;
	openlog("veneerfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
	fuse_set_log_func(fuse_to_syslog);
}

int vn_log_is_syslog(void)
{
	return use_syslog;
}

void vn_log_set_debug(int on)
{
	debug_on = on;
}

void vn_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
}
