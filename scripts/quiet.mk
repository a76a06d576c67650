# SPDX-License-Identifier: GPL-2.0
#
# Kbuild-like output for the userspace and selftest Makefiles: one
# "  CC       file" line a step by default, the full commands with V=1,
# nothing under make -s.  $(call msg,WHAT,FILE) prints the line.

ifeq ($(V),1)
Q		=
msg		=
else ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
Q		= @
msg		=
else
Q		= @
msg		= @printf '  %-8s %s\n' "$(1)" "$(patsubst $(CURDIR)/%,%,$(2))";
MAKEFLAGS	+= --no-print-directory
endif
