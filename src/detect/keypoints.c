#include "detect/keypoints.h"

#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const coco17_names[] = {
	"nose",          "left_eye",       "right_eye",  "left_ear",    "right_ear",  "left_shoulder",
	"right_shoulder", "left_elbow",    "right_elbow", "left_wrist", "right_wrist", "left_hip",
	"right_hip",     "left_knee",      "right_knee", "left_ankle",  "right_ankle",
};

static const uint8_t coco17_edges[][2] = {
	{ 0, 1 },   { 0, 2 },   { 1, 3 },   { 2, 4 },   /* face */
	{ 0, 5 },   { 0, 6 },                           /* nose to shoulders */
	{ 5, 7 },   { 7, 9 },   { 6, 8 },   { 8, 10 },  /* arms */
	{ 5, 6 },   { 5, 11 },  { 6, 12 },  { 11, 12 }, /* torso */
	{ 11, 13 }, { 13, 15 }, { 12, 14 }, { 14, 16 }, /* legs */
};

const vg_keypoint_layout vg_keypoints_coco17 = {
	.name = "coco17",
	.count = COUNT(coco17_names),
	.names = coco17_names,
	.n_edges = COUNT(coco17_edges),
	.edges = coco17_edges,
};

static const char *const blazeface_names[] = {
	"right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion",
};

const vg_keypoint_layout vg_keypoints_blazeface = {
	.name = "blazeface",
	.count = COUNT(blazeface_names),
	.names = blazeface_names,
	.n_edges = 0,
	.edges = NULL,
};

static const char *const blazepalm_names[] = {
	"wrist_center", "index_finger_mcp", "middle_finger_mcp", "ring_finger_mcp",
	"pinky_mcp",    "thumb_cmc",        "thumb_mcp",
};

static const uint8_t blazepalm_edges[][2] = {
	{ 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 0 }, /* the palm's outline through the knuckles */
	{ 0, 5 }, { 5, 6 },                               /* the thumb */
};

const vg_keypoint_layout vg_keypoints_blazepalm = {
	.name = "blazepalm",
	.count = COUNT(blazepalm_names),
	.names = blazepalm_names,
	.n_edges = COUNT(blazepalm_edges),
	.edges = blazepalm_edges,
};

static const char *const pose_detector_names[] = {
	"mid_hip_center", "full_body_size_rotation", "mid_shoulder_center", "upper_body_size_rotation",
};

static const uint8_t pose_detector_edges[][2] = { { 0, 1 }, { 2, 3 } };

const vg_keypoint_layout vg_keypoints_pose_detector = {
	.name = "pose_detector",
	.count = COUNT(pose_detector_names),
	.names = pose_detector_names,
	.n_edges = COUNT(pose_detector_edges),
	.edges = pose_detector_edges,
};

const vg_keypoint_layout *vg_keypoint_layout_find(const char *name)
{
	static const vg_keypoint_layout *const all[] = {
		&vg_keypoints_coco17,
		&vg_keypoints_blazeface,
		&vg_keypoints_blazepalm,
		&vg_keypoints_pose_detector,
	};
	for (int i = 0; name && i < COUNT(all); i++)
		if (!strcmp(all[i]->name, name))
			return all[i];
	return NULL;
}

const char *vg_keypoint_name(const vg_detection *d, int i)
{
	if (!d->layout || i < 0 || i >= d->layout->count || !d->layout->names)
		return NULL;
	return d->layout->names[i];
}
