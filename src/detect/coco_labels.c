#include "detect/labels.h"

/*
 * The 80 COCO object classes in their usual order (the contiguous 0-based ids
 * that CenterNet, NanoDet, YOLO and most detectors trained on COCO use, as
 * opposed to the 91 sparse ids of the original annotations).
 */
const char *const vg_coco80_labels[VG_COCO80_COUNT] = {
	"person",        "bicycle",      "car",           "motorcycle",    "airplane",     "bus",
	"train",         "truck",        "boat",          "traffic light", "fire hydrant", "stop sign",
	"parking meter", "bench",        "bird",          "cat",           "dog",          "horse",
	"sheep",         "cow",          "elephant",      "bear",          "zebra",        "giraffe",
	"backpack",      "umbrella",     "handbag",       "tie",           "suitcase",     "frisbee",
	"skis",          "snowboard",    "sports ball",   "kite",          "baseball bat", "baseball glove",
	"skateboard",    "surfboard",    "tennis racket", "bottle",        "wine glass",   "cup",
	"fork",          "knife",        "spoon",         "bowl",          "banana",       "apple",
	"sandwich",      "orange",       "broccoli",      "carrot",        "hot dog",      "pizza",
	"donut",         "cake",         "chair",         "couch",         "potted plant", "bed",
	"dining table",  "toilet",       "tv",            "laptop",        "mouse",        "remote",
	"keyboard",      "cell phone",   "microwave",     "oven",          "toaster",      "sink",
	"refrigerator",  "book",         "clock",         "vase",          "scissors",     "teddy bear",
	"hair drier",    "toothbrush",
};
