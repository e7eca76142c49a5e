#include "encode/jpeg.h"

#include <stdlib.h>
#include <turbojpeg.h>

#include "core/log.h"

struct vg_jpeg_encoder {
	tjhandle tj;
	int quality;
};

vg_jpeg_encoder *vg_jpeg_encoder_create(int quality)
{
	vg_jpeg_encoder *enc = calloc(1, sizeof *enc);
	if (!enc)
		return NULL;
	enc->tj = tjInitCompress();
	if (!enc->tj) {
		vg_error("cannot initialise TurboJPEG: %s", tjGetErrorStr2(NULL));
		free(enc);
		return NULL;
	}
	enc->quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
	return enc;
}

void vg_jpeg_encoder_destroy(vg_jpeg_encoder *enc)
{
	if (!enc)
		return;
	tjDestroy(enc->tj);
	free(enc);
}

size_t vg_jpeg_max_size(int width, int height)
{
	unsigned long n = tjBufSize(width, height, TJSAMP_420);
	return n == (unsigned long)-1 ? 0 : (size_t)n;
}

size_t vg_jpeg_encode(vg_jpeg_encoder *enc, const vg_frame *frame, uint8_t *dst, size_t cap)
{
	if (cap < vg_jpeg_max_size(frame->width, frame->height))
		return 0;
	const unsigned char *planes[3] = { frame->plane[0], frame->plane[1], frame->plane[2] };
	unsigned char *out = dst;
	unsigned long len = (unsigned long)cap;
	/* NOREALLOC: dst is a pooled buffer sized by tjBufSize, so TurboJPEG must not replace it. */
	if (tjCompressFromYUVPlanes(enc->tj, planes, frame->width, frame->stride, frame->height, TJSAMP_420, &out,
				    &len, enc->quality, TJFLAG_NOREALLOC | TJFLAG_FASTDCT) != 0) {
		vg_error("JPEG compression of frame %llu failed: %s", (unsigned long long)frame->id,
			 tjGetErrorStr2(enc->tj));
		return 0;
	}
	return (size_t)len;
}
