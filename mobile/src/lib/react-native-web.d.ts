import "react-native";

// react-native-web turns `dataSet` into data-* attributes (data-status="paid"); phones ignore it.
declare module "react-native" {
  interface ViewProps {
    dataSet?: Record<string, string>;
  }
  interface TextProps {
    dataSet?: Record<string, string>;
  }
}
