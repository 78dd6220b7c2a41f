/*
 * Replays a fuzz corpus through LLVMFuzzerTestOneInput with the ordinary
 * compiler, so CTest runs every saved input (as systemd's fuzz-main does).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	uint8_t *buf;
	long n;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096];
	struct dirent *d;
	unsigned ran = 0, bad = 0;
	DIR *dir;
	int i;

	for (i = 1; i < argc; i++) {
		if ((dir = opendir(argv[i])) == NULL) {
			if (run_file(argv[i]) < 0)
				bad++;
			else
				ran++;
			continue;
		}
		while ((d = readdir(dir)) != NULL) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i], d->d_name);
			if (run_file(path) < 0)
				bad++;
			else
				ran++;
		}
		closedir(dir);
	}
	printf("%u passed, %u failed\n", ran, bad);
	return bad > 0 || ran == 0;
}
