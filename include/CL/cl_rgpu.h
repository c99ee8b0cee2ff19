/* SPDX-License-Identifier: Apache-2.0 */
/* rgpu's OpenCL platform extensions. Reach the functions through
 * clGetExtensionFunctionAddressForPlatform on the platform named "rgpu". */
#ifndef CL_RGPU_H
#define CL_RGPU_H

#include <CL/cl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* cl_rgpu_session: detach from and attach to the daemons while keeping the sessions.
 *
 * clDetachRGPU sends what the application has queued, then drops the connections to every
 * daemon; the sessions stay on the daemons, whose devices go on executing their commands (for
 * the daemon's lease, 300 s by default). OpenCL calls made while detached are queued and block
 * only where they must wait for the daemon (clFinish, blocking reads, ...). It is what a VM
 * agent calls before a suspend or a live migration. Returns CL_SUCCESS (also when already
 * detached), or CL_INVALID_PLATFORM.
 *
 * clAttachRGPU connects again, resumes every session (resending what the daemons had not
 * received) and returns once all are back: CL_SUCCESS (also when not detached),
 * CL_INVALID_PLATFORM, or CL_OUT_OF_RESOURCES when a daemon no longer knows its session or
 * cannot be reached within RGPU_RECONNECT_TIMEOUT_MS; that session's waiting calls and pending
 * events then fail with CL_OUT_OF_RESOURCES. */
#define cl_rgpu_session 1
#define CL_RGPU_SESSION_EXTENSION_NAME "cl_rgpu_session"
#define CL_RGPU_SESSION_EXTENSION_VERSION CL_MAKE_VERSION(1, 0, 0)

typedef cl_int(CL_API_CALL* clDetachRGPU_fn)(cl_platform_id platform);
typedef cl_int(CL_API_CALL* clAttachRGPU_fn)(cl_platform_id platform);

#ifdef __cplusplus
}
#endif

#endif /* CL_RGPU_H */
