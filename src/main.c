/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "manager.h"
int main(void) { return manager_run("x", MANAGER_DAEMON); }
