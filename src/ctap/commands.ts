/**
 * CTAP2 command bytes (CTAP 2.2 §6).
 * @module
 */

export const Command = {
  MakeCredential: 0x01,
  GetAssertion: 0x02,
  GetInfo: 0x04,
  ClientPin: 0x06,
  Reset: 0x07,
  GetNextAssertion: 0x08,
  BioEnrollment: 0x09,
  CredentialManagement: 0x0a,
  Selection: 0x0b,
  LargeBlobs: 0x0c,
  Config: 0x0d,
} as const;

export type CommandCode = (typeof Command)[keyof typeof Command];
