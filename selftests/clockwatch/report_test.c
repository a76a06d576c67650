// SPDX-License-Identifier: GPL-2.0
/*
 * clockwatch: tests of CLOCKWATCH_IOC_DAEMON_REPORT and of the sync
 * daemon's identity, disruption and steps in flight.
 */
#include "kselftest_harness.h"

TEST_HARNESS_MAIN
