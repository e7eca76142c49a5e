#include "store/orphans.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/event_store.h"

int vg_store_file_event_id(const char *name, char *id, size_t cap)
{
	static const char *const suffixes[] = { "-crop.jpg", ".jpg", ".mp4" };
	size_t n = strlen(name);
	if (n > 4 && !strcmp(name + n - 4, ".tmp"))
		n -= 4;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t k = strlen(suffixes[i]);
		if (n <= k || strncmp(name + n - k, suffixes[i], k) != 0 || n - k >= cap)
			continue;
		memcpy(id, name, n - k);
		id[n - k] = '\0';
		return vg_event_id_valid(id);
	}
	return 0;
}

uint64_t vg_store_sweep_orphans(const char *root, double cutoff_s, vg_store_has_event_fn has, void *user)
{
	uint64_t removed = 0;
	DIR *top = opendir(root);
	if (!top)
		return 0;
	struct dirent *cam;
	while ((cam = readdir(top)) != NULL) {
		if (cam->d_name[0] == '.')
			continue;
		char dir[4096];
		if (snprintf(dir, sizeof dir, "%s/%s", root, cam->d_name) >= (int)sizeof dir)
			continue;
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char id[VG_OBJECT_ID_MAX], path[4400];
			struct stat sb;
			if (!vg_store_file_event_id(e->d_name, id, sizeof id) ||
			    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
			    lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (double)sb.st_mtime >= cutoff_s ||
			    has(user, id))
				continue;
			if (unlink(path) == 0)
				removed++;
		}
		closedir(d);
	}
	closedir(top);
	return removed;
}
