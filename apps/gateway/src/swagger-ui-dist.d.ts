declare module 'swagger-ui-dist' {
  /** Directory holding the bundled Swagger UI assets. */
  export function getAbsoluteFSPath(): string;
}
