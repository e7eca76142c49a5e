#ifndef VG_KEYPOINTS_H
#define VG_KEYPOINTS_H

#include "detect/detection.h"

/*
 * The keypoint layouts vigil knows: what each keypoint of a model's
 * detections is, and which pairs the renderer joins into a skeleton. A
 * decoder points each detection's layout at one of these (they are static, so
 * detections can carry the pointer across threads).
 */

/*
 * COCO's 17 body keypoints in MoveNet's (and PoseNet's) order: nose, left_eye,
 * right_eye, left_ear, right_ear, left_shoulder, right_shoulder, left_elbow,
 * right_elbow, left_wrist, right_wrist, left_hip, right_hip, left_knee,
 * right_knee, left_ankle, right_ankle; 18 skeleton edges (face, arms,
 * shoulders and hips to the torso, legs).
 */
extern const vg_keypoint_layout vg_keypoints_coco17;

/*
 * MediaPipe BlazeFace's 6 face keypoints: right_eye, left_eye, nose_tip,
 * mouth_center, right_ear_tragion, left_ear_tragion ("right" is the person's
 * right). No skeleton.
 */
extern const vg_keypoint_layout vg_keypoints_blazeface;

/*
 * MediaPipe BlazePalm's 7 hand keypoints: wrist_center, index_finger_mcp,
 * middle_finger_mcp, ring_finger_mcp, pinky_mcp, thumb_cmc, thumb_mcp; edges
 * outline the palm and the thumb.
 */
extern const vg_keypoint_layout vg_keypoints_blazepalm;

/*
 * MediaPipe's pose detector (BlazePose detector): 4 virtual keypoints,
 * mid_hip_center, full_body_size_rotation (with the hip centre: the radius and
 * tilt of a circle around the whole body), mid_shoulder_center,
 * upper_body_size_rotation (likewise for the upper body). Edges join each
 * centre to its size point.
 */
extern const vg_keypoint_layout vg_keypoints_pose_detector;

/* The layout called name ("coco17", "blazeface", "blazepalm", "pose_detector"), or NULL. */
const vg_keypoint_layout *vg_keypoint_layout_find(const char *name);

/*
 * Keypoints scoring below this are treated as not found: the renderer does
 * not draw them (nor edges to them), and pose decoders leave them out of the
 * person's box. MoveNet scores the joints of people in view mostly 0.3 to
 * 0.9, and its guesses in an empty room mostly 0 to 0.25 (Intel's
 * one-by-one-person video), so 0.2 keeps the first and drops most of the second
 * (which the person's own score, a mean, filters out).
 */
#define VG_KEYPOINT_MIN_SCORE 0.2f

/* The name of keypoint i of d, or NULL when its layout is NULL or too short. */
const char *vg_keypoint_name(const vg_detection *d, int i);

#endif
