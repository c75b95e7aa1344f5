import type { Driver } from '../driver.ts'

export const platformaticDriver: Driver = undefined as never
