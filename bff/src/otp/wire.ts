import type { Feature } from '../http/feature.ts';
import type { OtpService } from './otp-service.ts';
import { otpRouter } from './routes.ts';

/** The code routes (`POST /api/v1/otp`, `/otp/verify`). The OtpService itself is shared infrastructure. */
export function wireOtp({ config, otp }: { config: { defaultPhoneCountry: string }; otp: OtpService }): Feature {
  return { routers: [otpRouter({ otp, defaultPhoneCountry: config.defaultPhoneCountry })] };
}
