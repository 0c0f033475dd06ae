/* The Vulkan backend: any Vulkan 1.1+ device, through a loader opened at run time. */
#ifndef ERG_VK_BACKEND_H
#define ERG_VK_BACKEND_H

#include "backends/backend.h"

extern const erg_backend erg_vulkan_backend;

#endif
