/* veneerfs: parse, validate, mount, serve, tear down. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "mnt.h"
#include "veneer.h"

/* Use the whole hard limit: the fd cache is sized from it. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Who may use the mount: run by root it serves every user, as a bind
 * mount and the kernel's overlayfs do (the kernel still checks each
 * caller's permissions, and each request runs with the caller's
 * credentials), unless asked to serve only the mounting user. */
static int add_access_opts(char **opt, const struct vn_opts *o)
{
	if (geteuid() != 0 || o->allow_other || o->allow_root ||
	    o->noallow_other)
		return 0;
	return fuse_opt_add_opt(opt, "allow_other");
}

/* Options veneerfs always hands to the kernel, then the user's mount
 * flags in libfuse's words. */
static int add_mount_opts(struct fuse_args *args, const struct vn_opts *o)
{
	char *fsname = NULL, *opt = NULL, flags[128];
	int err = -1;

	if (asprintf(&fsname, "fsname=%s,subtype=veneerfs", o->source) < 0)
		return -1;
	/* Escape the source's commas, not the separator we add. */
	fsname[strlen(fsname) - strlen(",subtype=veneerfs")] = '\0';
	if (fuse_opt_add_opt_escaped(&opt, fsname) < 0 ||
	    fuse_opt_add_opt(&opt, "subtype=veneerfs") < 0)
		goto out;
	if (o->default_permissions &&
	    fuse_opt_add_opt(&opt, "default_permissions") < 0)
		goto out;
	if (add_access_opts(&opt, o) < 0)
		goto out;
	/* An overlay mounted by root honours set-user-ID bits, as the
	 * kernel's overlayfs does: container engines run their processes as
	 * other users on it. The user's own nosuid comes after and wins. */
	if (o->overlay && geteuid() == 0 && fuse_opt_add_opt(&opt, "suid") < 0)
		goto out;
	vn_mflags_libfuse(&o->mflags, flags, sizeof(flags));
	if (flags[0] && fuse_opt_add_opt(&opt, flags) < 0)
		goto out;
	/* An overlay without an upper layer takes no change at all. */
	if (o->overlay && !o->upperdir && fuse_opt_add_opt(&opt, "ro") < 0)
		goto out;
	/* Inserted first, so that the user's own fsname= wins. */
	if (fuse_opt_insert_arg(args, 1, "-o") < 0 ||
	    fuse_opt_insert_arg(args, 2, opt) < 0)
		goto out;
	err = 0;
out:
	free(fsname);
	free(opt);
	return err;
}

/* The mount flags libfuse cannot pass (strictatime, nodiratime,
 * lazytime, nosymfollow...), applied to the fresh mount. */
static int finish_mount_flags(const struct vn_opts *o)
{
	int err;

	/* Mounted by mount.fuse3 before we started, with the flags it
	 * knows; and no path to remount. */
	if (vn_opts_fuse_fd(o->mountpoint) >= 0)
		return 0;
	err = vn_mnt_remount(o->mountpoint, &o->mflags, false);

	if (err)
		vn_err("cannot set the mount flags of '%s': %s",
		       o->mountpoint, strerror(-err));
	return err;
}

static int serve(struct fuse_session *se, const struct vn_opts *o)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (o->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned int)o->clone_fd);
	fuse_loop_cfg_set_idle_threads(cfg, o->max_idle_threads);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

/* -o remount (mount -o remount runs the helper, and so veneerfs):
 * change the flags of a mount that exists. The daemon serving it goes on
 * as it is. */
static int remount(const struct vn_opts *o)
{
	int err = vn_mnt_remount(o->mountpoint, &o->mflags, true);

	if (err) {
		vn_err("cannot remount '%s': %s", o->mountpoint,
		       strerror(-err));
		return 1;
	}
	return 0;
}

static void print_version(void)
{
	printf("veneerfs %s\nlibfuse %s\n", PACKAGE_VERSION,
	       fuse_pkgversion());
}

/* Mount and serve until unmounted or signalled. Returns the exit code. */
static int run(struct fuse_args *args, struct vn_opts *o, struct vn_fs *fs)
{
	struct fuse_session *se;
	int ret = 1, err;

	/* libfuse's reasons are folded into our one line. */
	vn_log_capture(true);
	se = fuse_session_new(args, &vn_ops, sizeof(vn_ops), fs);
	if (!se) {
		vn_err("cannot start: %s", vn_log_captured("invalid options"));
		vn_log_capture(false);
		return 1;
	}
	fs->se = se;
	if (fuse_set_signal_handlers(se) != 0) {
		vn_err("cannot set signal handlers: %s",
		       vn_log_captured("sigaction failed"));
		goto out_destroy;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		vn_err("cannot mount on '%s': %s", o->mountpoint,
		       vn_log_captured("mount failed"));
		goto out_signals;
	}
	/* Over the descriptor the mount opened: replies are amended for
	 * kernel passthrough (transport.c). */
	if (vn_transport_install(fs, se) != 0) {
		vn_err("cannot set up the transport: %s",
		       vn_log_captured("custom io refused"));
		goto out_unmount;
	}
	vn_log_capture(false);
	if (finish_mount_flags(o) != 0)
		goto out_unmount;
	vn_fs_mount_changed(fs);
	if (fuse_daemonize(o->foreground) != 0)
		goto out_unmount;
	if (!o->foreground)
		vn_log_to_syslog(o->mountpoint);
	err = vn_fs_start(fs);
	if (err) {
		vn_err("cannot open /proc/self/fd: %s", strerror(-err));
		goto out_unmount;
	}
	err = vn_stats_start(fs);
	if (err)
		vn_warn("no statistics on SIGUSR1: %s", strerror(-err));
	/* In the foreground the terminal (or the service manager) shows
	 * this; in syslog it marks where a mount's messages begin and end. */
	if (vn_log_is_syslog() && o->overlay)
		vn_info("mounted: overlay of %d lower layer(s), upper %s",
			o->nlowers, o->upperdir ? o->upperdir : "none");
	else if (vn_log_is_syslog())
		vn_info("mounted: passthrough of %s", o->source);
	/* libfuse returns the signal number when SIGINT, SIGTERM or SIGHUP
	 * ended the loop: that is a clean unmount too. */
	ret = serve(se, o) >= 0 ? 0 : 1;
	vn_stats_stop();
	if (vn_log_is_syslog())
		vn_info("unmounted");
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
	vn_log_capture(false);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct vn_opts o;
	struct vn_fs fs;
	int ret = 1, err;
	size_t left;

	if (vn_opts_parse(&args, &o) < 0 && !o.show_help && !o.show_version)
		goto out_bad;
	if (o.show_help) {
		vn_opts_help(argv[0]);
		ret = 0;
		goto out;
	}
	if (o.show_version) {
		print_version();
		ret = 0;
		goto out;
	}
	if (vn_opts_validate(&o) < 0)
		goto out_bad;
	if (o.remount) {
		ret = remount(&o);
		goto out;
	}
	vn_log_set_debug(o.debug);
	raise_nofile();
	umask(0); /* the kernel already applied the caller's umask */
	vn_creds_setup(o.overlay, &o);
	err = vn_fs_init(&fs, &o);
	if (err) {
		if (err != -EBUSY && err != -ENOENT)
			vn_err("cannot set up: %s", strerror(-err));
		vn_fs_destroy(&fs);
		goto out;
	}
	if (add_mount_opts(&args, &o) == 0)
		ret = run(&args, &o, &fs);
	left = vn_fs_destroy(&fs);
	if (left > 1)
		vn_debug("%zu nodes were still known at unmount", left - 1);
	goto out;
out_bad:
	fprintf(stderr, "veneerfs: %s\n", o.bad);
out:
	vn_opts_free(&o);
	fuse_opt_free_args(&args);
	return ret;
}
