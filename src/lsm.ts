// Linux security modules as the running kernel reports them; the plan builder
// (refusing what the host cannot apply) and `features` ask the same question.
import { readFileSync } from 'node:fs';

/** AppArmor is active: built in and chosen among the kernel's LSMs (its module parameter says Y). */
export function appArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'latin1').trim() === 'Y';
  } catch {
    return false; // no AppArmor in this kernel
  }
}
