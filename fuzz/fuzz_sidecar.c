/*
 * libFuzzer target for model sidecars (detect/model_config.c): any bytes are
 * parsed as a sidecar; a parse either fails with a message naming the file
 * or gives settings whose Caffe SSD prior layers, if any, are checked and
 * laid out on a 300x300 input (counted first, so no layer set can ask for
 * more than the count says). Overlaying onto built-in settings and freeing
 * must leave nothing behind (LeakSanitizer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/decode.h"
#include "detect/model_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vg_model_config c;
	char err[512];
	err[0] = '\0';
	if (vg_model_config_parse(&c, (const char *)data, size, "fuzz.vigil.json", err, sizeof err) < 0) {
		if (!strstr(err, "fuzz.vigil.json"))
			abort();
		return 0;
	}
	if (c.has_priors) {
		int n = vg_priors_generate(&c.priors, 300, 300, NULL, 0, err, sizeof err);
		if (n > 0 && n <= 100000) {
			float *p = malloc((size_t)n * 4 * sizeof *p + sizeof *p);
			if (p) {
				p[(size_t)n * 4] = 42;
				if (vg_priors_generate(&c.priors, 300, 300, p, n, NULL, 0) != n || p[(size_t)n * 4] != 42)
					abort();
				free(p);
			}
		}
	}
	nn_tensor in;
	memset(&in, 0, sizeof in);
	in.dtype = NN_F32;
	in.rank = 4;
	in.shape[0] = 1;
	in.shape[1] = in.shape[2] = 300;
	in.shape[3] = 3;
	vg_model_config base;
	vg_model_config_builtin(&base, "opencv_face_detector_uint8.pb", &in, NULL, 0);
	vg_model_config_overlay(&base, &c);
	vg_model_config_free(&base);
	vg_model_config_free(&c);
	return 0;
}
