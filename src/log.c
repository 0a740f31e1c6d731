#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int use_syslog;
static int debug_on;
static const char *tag_mnt = "";

void vn_log_to_syslog(const char *mountpoint)
{
	tag_mnt = mountpoint;
	openlog("veneerfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void vn_log_set_debug(int on)
{
	debug_on = on;
}

void vn_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level == LOG_DEBUG && !debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (use_syslog)
		syslog(level, "%s: %s", tag_mnt, msg);
	else
		fprintf(stderr, "veneerfs: %s\n", msg);
}
