/* Logging: stderr in the foreground, syslog once daemonized. */
#ifndef VN_LOG_H
#define VN_LOG_H

#include <syslog.h>

/* Send later messages, libfuse's too, to syslog, each tagged with the
 * mountpoint. */
void vn_log_to_syslog(const char *mountpoint);
/* While on, libfuse's messages are not printed: the last one is kept for
 * vn_log_captured(), which returns it (or fallback if there was none),
 * so that a failure is told in one line. Turning it off forgets it. */
void vn_log_capture(int on);
const char *vn_log_captured(const char *fallback);
/* Are messages going to syslog? */
int vn_log_is_syslog(void);
/* Print debug-level messages too. */
void vn_log_set_debug(int on);
/* Log one line at a syslog level (LOG_ERR, LOG_WARNING, LOG_DEBUG...). */
void vn_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vn_err(...) vn_log(LOG_ERR, __VA_ARGS__)
#define vn_warn(...) vn_log(LOG_WARNING, __VA_ARGS__)
#define vn_info(...) vn_log(LOG_INFO, __VA_ARGS__)
#define vn_debug(...) vn_log(LOG_DEBUG, __VA_ARGS__)

#endif
