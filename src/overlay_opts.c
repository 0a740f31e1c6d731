/* Overlay mode's options: the layer list, id maps, and the checks made on
 * the layer directories before anything is mounted.
 *
 * lowerdir=, upperdir=, workdir= and the id maps are taken out of the raw
 * command line before fuse_opt sees it: fuse_opt drops every backslash,
 * and "\:" must reach the layer list intact to mean a colon in a name. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FUSE_USE_VERSION 312
#include <fuse_opt.h>

#include "options.h"
#include "overlay_opts.h"

int vn_split_layers(const char *value, char ***out)
{
	size_t len = strlen(value);
	char **list = calloc(len + 2, sizeof(*list));
	char *cur = malloc(len + 1), *d = cur;
	int n = 0;

	if (!list || !cur)
		goto fail;
	for (;; value++) {
		if (*value == '\\' && value[1]) {
			*d++ = *++value;
			continue;
		}
		if (*value && *value != ':') {
			*d++ = *value;
			continue;
		}
		*d = '\0';
		if (d == cur)
			goto fail; /* "a::b", ":a", "a:" or "" */
		list[n] = strdup(cur);
		if (!list[n])
			goto fail;
		n++;
		d = cur;
		if (!*value)
			break;
	}
	free(cur);
	*out = list;
	return n;
fail:
	free(cur);
	vn_free_layers(list, n);
	return -1;
}

void vn_free_layers(char **list, int n)
{
	int i;

	if (!list)
		return;
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int parse_uint(const char **s, unsigned int *v)
{
	unsigned long x;
	char *end;

	if (**s < '0' || **s > '9')
		return -1;
	errno = 0;
	x = strtoul(*s, &end, 10);
	if (errno || x > UINT32_MAX)
		return -1;
	*v = (unsigned int)x;
	*s = end;
	return 0;
}

int vn_parse_idmap(const char *value, struct vn_idmap *map, int max)
{
	const char *s = value;
	int n = 0;

	/* Container engines write the list with a leading separator
	 * ("uidmapping=:0:100000:65536"). */
	if (*s == ':')
		s++;
	while (*s) {
		struct vn_idmap m;

		if (n == max)
			return -1;
		if (parse_uint(&s, &m.inner) < 0 || *s++ != ':' ||
		    parse_uint(&s, &m.outer) < 0 || *s++ != ':' ||
		    parse_uint(&s, &m.len) < 0 || m.len == 0 ||
		    m.inner + (uint64_t)m.len > (uint64_t)UINT32_MAX + 1 ||
		    m.outer + (uint64_t)m.len > (uint64_t)UINT32_MAX + 1)
			return -1;
		map[n++] = m;
		if (*s != ':' && *s != ',')
			return *s ? -1 : n;
		if (!*++s)
			return -1; /* a separator with nothing after it */
	}
	return n;
}

/* Does piece (one element of an -o list, still escaped) start with key? */
static const char *raw_value(const char *piece, const char *key)
{
	size_t len = strlen(key);

	return strncmp(piece, key, len) == 0 ? piece + len : NULL;
}

/* Remove the escapes of an -o list element other than "\:". */
static char *unescape_path(const char *s)
{
	char *out = malloc(strlen(s) + 1), *d = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*d++ = *s;
	}
	*d = '\0';
	return out;
}

static int set_string(char **slot, const char *value)
{
	free(*slot);
	*slot = unescape_path(value);
	return *slot ? 0 : -1;
}

static int take_idmap(struct vn_opts *o, const char *piece,
		      const char *value, struct vn_idmap *map, int *n)
{
	int got = vn_parse_idmap(value, map + *n, VN_MAX_IDMAP - *n);

	if (got < 0) {
		vn_opts_bad(o, "bad value in '%s': expected ID:ID:LENGTH "
			       "triples", piece);
		return -1;
	}
	*n += got;
	return 0;
}

/* Take piece if it is one of ours. Returns 1 if taken, 0 if not, -1 on
 * error. */
static int take_piece(struct vn_opts *o, const char *piece)
{
	const char *v;

	if ((v = raw_value(piece, "lowerdir="))) {
		vn_free_layers(o->lowers, o->nlowers);
		o->lowers = NULL;
		o->nlowers = vn_split_layers(v, &o->lowers);
		if (o->nlowers < 0) {
			o->nlowers = 0;
			vn_opts_bad(o, "bad value in 'lowerdir=%s': empty "
				       "directory name", v);
			return -1;
		}
		o->overlay = 1;
		return 1;
	}
	if (raw_value(piece, "context="))
		return 1; /* a label means nothing on a FUSE mount */
	if ((v = raw_value(piece, "upperdir=")))
		return set_string(&o->upperdir, v) < 0 ? -1 : 1;
	if ((v = raw_value(piece, "workdir=")))
		return set_string(&o->workdir, v) < 0 ? -1 : 1;
	if ((v = raw_value(piece, "uidmapping=")))
		return take_idmap(o, piece, v, o->uidmap, &o->nuidmap) < 0 ? -1
									  : 1;
	if ((v = raw_value(piece, "gidmapping=")))
		return take_idmap(o, piece, v, o->gidmap, &o->ngidmap) < 0 ? -1
									  : 1;
	return 0;
}

/* A bare "N:N:N" after an id map continues it ("uidmapping=0:1:1,1:2:3"). */
static bool idmap_tail(const char *piece)
{
	struct vn_idmap m;

	return vn_parse_idmap(piece, &m, 1) == 1;
}

/* Filter one -o list: our pieces are taken, the rest returned (still
 * escaped) in a new string, empty if nothing is left. */
static char *filter_list(struct vn_opts *o, const char *list)
{
	size_t len = strlen(list);
	char *rest = calloc(1, len + 1), *piece = malloc(len + 1);
	const char *s = list;
	const char *last_map = NULL;
	int err = 0;

	if (!rest || !piece)
		goto fail;
	while (!err) {
		char *d = piece;
		bool quoted = false;
		int taken;

		/* A double-quoted value keeps its commas (SELinux contexts:
		 * context="u:r:t:s0:c1,c2"). */
		while (*s && (quoted || *s != ',')) {
			if (*s == '"')
				quoted = !quoted;
			if (*s == '\\' && s[1])
				*d++ = *s++;
			*d++ = *s++;
		}
		*d = '\0';
		if (last_map && idmap_tail(piece)) {
			char joined[128];

			snprintf(joined, sizeof(joined), "%s%s", last_map,
				 piece);
			taken = take_piece(o, joined);
		} else {
			taken = take_piece(o, piece);
		}
		last_map = NULL;
		if (taken > 0 && strncmp(piece, "uidmapping=", 11) == 0)
			last_map = "uidmapping=";
		if (taken > 0 && strncmp(piece, "gidmapping=", 11) == 0)
			last_map = "gidmapping=";
		if (taken < 0)
			err = -1;
		else if (!taken && *piece) {
			if (*rest)
				strcat(rest, ",");
			strcat(rest, piece);
		}
		if (!*s)
			break;
		s++;
	}
	free(piece);
	if (!err)
		return rest;
fail:
	free(rest);
	vn_opts_bad(o, "out of memory");
	return NULL;
}

int vn_take_raw_opts(struct fuse_args *args, struct vn_opts *o)
{
	struct fuse_args out = FUSE_ARGS_INIT(0, NULL);
	int i, err = -1;

	for (i = 0; i < args->argc; i++) {
		const char *a = args->argv[i], *list = NULL;
		char *rest;

		if (strcmp(a, "--") == 0) {
			/* After "--" everything is a plain argument. */
			for (; i < args->argc; i++)
				if (fuse_opt_add_arg(&out, args->argv[i]) < 0)
					goto out;
			break;
		}
		if (strcmp(a, "-o") == 0 && i + 1 == args->argc) {
			vn_opts_bad(o, "missing option list after '-o'");
			goto out;
		}
		if (strcmp(a, "-o") == 0)
			list = args->argv[++i];
		else if (strncmp(a, "-o", 2) == 0 && a[2])
			list = a + 2;
		if (!list) {
			if (fuse_opt_add_arg(&out, a) < 0)
				goto out;
			continue;
		}
		rest = filter_list(o, list);
		if (!rest)
			goto out;
		if (*rest && (fuse_opt_add_arg(&out, "-o") < 0 ||
			      fuse_opt_add_arg(&out, rest) < 0)) {
			free(rest);
			goto out;
		}
		free(rest);
	}
	fuse_opt_free_args(args);
	*args = out;
	return 0;
out:
	fuse_opt_free_args(&out);
	return err;
}

/* Is a (a resolved path) b, or below b? */
static bool path_within(const char *a, const char *b)
{
	size_t lb = strlen(b);

	if (strcmp(b, "/") == 0)
		return true;
	return strncmp(a, b, lb) == 0 && (a[lb] == '\0' || a[lb] == '/');
}

int vn_overlay_validate(struct vn_opts *o)
{
	struct stat su, sw;
	int i;

	if (!o->overlay) {
		if (o->upperdir || o->workdir) {
			vn_opts_bad(o, "upperdir= and workdir= need lowerdir=");
			return -1;
		}
		return 0;
	}
	if (!o->upperdir != !o->workdir) {
		vn_opts_bad(o, o->upperdir ? "upperdir= needs workdir="
					   : "workdir= needs upperdir=");
		return -1;
	}
	if (!o->default_permissions) {
		vn_opts_bad(o, "nodefault_permissions cannot be used in "
			       "overlay mode");
		return -1;
	}
	if (o->nlowers > VN_MAX_LOWERS) {
		vn_opts_bad(o, "too many lower directories: %d (at most %d)",
			    o->nlowers, VN_MAX_LOWERS);
		return -1;
	}
	for (i = 0; i < o->nlowers; i++)
		if (vn_opts_check_dir(o, "lowerdir", &o->lowers[i]) < 0)
			return -1;
	if (!o->upperdir)
		return 0;
	if (vn_opts_check_dir(o, "upperdir", &o->upperdir) < 0 ||
	    vn_opts_check_dir(o, "workdir", &o->workdir) < 0)
		return -1;
	if (stat(o->upperdir, &su) < 0 || stat(o->workdir, &sw) < 0) {
		vn_opts_bad(o, "cannot stat upperdir or workdir: %s",
			    strerror(errno));
		return -1;
	}
	if (su.st_dev != sw.st_dev) {
		vn_opts_bad(o, "workdir '%s' is not on the same filesystem as "
			       "upperdir '%s'", o->workdir, o->upperdir);
		return -1;
	}
	if (path_within(o->workdir, o->upperdir)) {
		vn_opts_bad(o, "workdir '%s' is inside upperdir '%s'",
			    o->workdir, o->upperdir);
		return -1;
	}
	if (path_within(o->upperdir, o->workdir)) {
		vn_opts_bad(o, "upperdir '%s' is inside workdir '%s'",
			    o->upperdir, o->workdir);
		return -1;
	}
	for (i = 0; i < o->nlowers; i++) {
		const char *l = o->lowers[i];

		if (strcmp(l, o->upperdir) == 0) {
			vn_opts_bad(o, "upperdir '%s' is also a lowerdir", l);
			return -1;
		}
		if (path_within(l, o->upperdir) ||
		    path_within(o->upperdir, l) || path_within(l, o->workdir) ||
		    path_within(o->workdir, l)) {
			vn_opts_bad(o, "lowerdir '%s' overlaps upperdir '%s' "
				       "or workdir '%s'",
				    l, o->upperdir, o->workdir);
			return -1;
		}
	}
	return 0;
}
