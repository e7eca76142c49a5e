/*
 * Pipeline throughput, unpaced: decode -> I420 frame -> JPEG, one frame after
 * another on one thread each for the source and the encoder as in `serve`,
 * minus the HTTP loop. Prints frames/s (wall) and CPU ms per frame.
 * Usage: bench-pipeline URI [MAX_FRAMES] [QUALITY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/log.h"
#include "encode/jpeg.h"
#include "source/source.h"

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench-pipeline URI [MAX_FRAMES] [QUALITY]\n");
		return 2;
	}
	long max_frames = argc > 2 ? atol(argv[2]) : 1000;
	int quality = argc > 3 ? atoi(argv[3]) : 80;
	vg_log_set_level(VG_LOG_WARN);

	vg_source_options so = { .uri = argv[1], .pace = 0 };
	vg_source *src;
	char err[512];
	if (vg_source_open(&src, &so, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "bench-pipeline: %s\n", err);
		return 2;
	}
	int w = vg_source_width(src), h = vg_source_height(src);
	vg_jpeg_encoder *enc = vg_jpeg_encoder_create(quality);
	size_t cap = vg_jpeg_max_size(w, h);
	uint8_t *buf = malloc(cap);

	double cpu0 = cpu_seconds();
	int64_t t0 = vg_mono_us(), decode_us = 0, encode_us = 0;
	long frames = 0;
	size_t bytes = 0;
	vg_frame *f;
	while (frames < max_frames && vg_source_read(src, &f) == 0) {
		decode_us += f->decode_us;
		int64_t e0 = vg_mono_us();
		bytes += vg_jpeg_encode(enc, f, buf, cap);
		encode_us += vg_mono_us() - e0;
		vg_frame_unref(f);
		frames++;
	}
	double wall = (double)(vg_mono_us() - t0) / 1e6, cpu = cpu_seconds() - cpu0;
	if (frames == 0) {
		fprintf(stderr, "bench-pipeline: no frame decoded from %s\n", argv[1]);
		return 1;
	}
	printf("%s %dx%d: %ld frames in %.2f s: %.1f frames/s, CPU %.2f ms/frame "
	       "(decode %.2f ms, JPEG q%d %.2f ms, %.0f KiB/frame)\n",
	       argv[1], w, h, frames, wall, (double)frames / wall, cpu * 1e3 / (double)frames,
	       (double)decode_us / 1e3 / (double)frames, quality, (double)encode_us / 1e3 / (double)frames,
	       (double)bytes / 1024.0 / (double)frames);
	free(buf);
	vg_jpeg_encoder_destroy(enc);
	vg_source_destroy(src);
	return 0;
}
