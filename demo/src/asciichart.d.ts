// demo/src/asciichart.d.ts - types for asciichart (the package ships none): the part the live view uses.
declare module 'asciichart' {
  export interface PlotConfig {
    height?: number;
    min?: number;
    max?: number;
    offset?: number;
    padding?: string;
    colors?: string[];
    format?: (value: number, index: number) => string;
  }
  export function plot(series: number[] | number[][], config?: PlotConfig): string;
  export const green: string;
  export const yellow: string;
  export const cyan: string;
  export const magenta: string;
  export const reset: string;
}
