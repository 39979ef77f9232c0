// Shared by every test file: initialise the backend once per process, the one named by
// STYLEGAN_BACKEND (default auto: tensorflow when it loads, else the fallback).
import { initBackend, backendOptionsFrom, type BackendInfo } from '../dnnlib/backend.ts';

let pending: Promise<BackendInfo> | null = null;

export async function useTestBackend(): Promise<BackendInfo> {
  pending ??= initBackend({ ...backendOptionsFrom({}, process.env), print: process.env.STYLEGAN_TEST_QUIET !== '1' });
  return pending;
}
